#include "kormo/data/debian.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <tuple>

#include <sys/wait.h>

#include "kormo/data/html.h"
#include "kormo/data/words.h"
#include "kormo/util/signals.h"
#include "kormo/text/utf8.h"
#include "kormo/util/error.h"
#include "kormo/util/log.h"

namespace kormo::data {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> default_debian_packages() {
  return {"libreoffice-help-en-us", "libreoffice-help-ko", "debian-faq", "debian-faq-ko", "installation-guide-amd64",
          "coreutils", "dpkg", "apt", "grep", "findutils"};
}

std::vector<std::pair<std::string, std::string>> parse_mo(std::string_view d, const std::string& path) {
  auto u32 = [&](size_t off, bool swap) -> uint32_t {
    if (off + 4 > d.size()) fail("{}: truncated .mo file (offset {} past the end, {} bytes)", path, off, d.size());
    uint32_t v;
    std::memcpy(&v, d.data() + off, 4);
    return swap ? __builtin_bswap32(v) : v;
  };
  uint32_t magic = u32(0, false);
  bool swap;
  if (magic == 0x950412de) swap = false;
  else if (magic == 0xde120495) swap = true;
  else fail("{}: not a .mo file (magic 0x{:08x}, expected 0x950412de)", path, magic);
  uint32_t n = u32(8, swap), orig = u32(12, swap), trans = u32(16, swap);
  auto str = [&](uint32_t table, uint32_t i) {
    uint32_t len = u32(table + 8 * size_t(i), swap), off = u32(table + 8 * size_t(i) + 4, swap);
    if (size_t(off) + len > d.size()) fail("{}: string {} at offset {} runs past the end", path, i, off);
    return d.substr(off, len);
  };
  std::vector<std::pair<std::string, std::string>> out;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view id = str(orig, i), tr = str(trans, i);
    if (id.empty()) continue;  // header
    size_t ctx = id.find('\x04');
    if (ctx != std::string_view::npos) id.remove_prefix(ctx + 1);
    id = id.substr(0, id.find('\0'));
    tr = tr.substr(0, tr.find('\0'));
    if (tr.empty()) continue;
    out.emplace_back(std::string(id), std::string(tr));
  }
  return out;
}

namespace {

bool valid_package_name(const std::string& p) {
  if (p.empty() || p.size() > 100) return false;
  for (char c : p)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
          c == '+' || c == '-'))
      return false;
  return true;
}

// Runs a shell command; returns exit status and its combined output.
int run_command(const std::string& cmd, std::string& output) {
  output.clear();
  const DefaultStopSignals child_can_be_stopped;  // the shell and its commands inherit the mask
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) output.append(buf.data(), n);
  int rc = ::pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string find_deb(const std::string& cache, const std::string& pkg) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(cache)) {
    std::string name = e.path().filename().string();
    if (name.rfind(pkg + "_", 0) == 0 && name.ends_with(".deb")) found.push_back(e.path().string());
  }
  std::sort(found.begin(), found.end());
  return found.empty() ? "" : found.back();
}

std::string url_unescape(std::string s) {
  size_t p;
  while ((p = s.find("%3a")) != std::string::npos) s.replace(p, 3, ":");
  return s;
}

struct Package {
  std::string name, version, root;  // root: extracted tree
};

Package fetch_package(const std::string& cache, const std::string& pkg) {
  if (!valid_package_name(pkg)) fail("\"{}\" is not a Debian package name", pkg);
  std::string deb = find_deb(cache, pkg);
  if (deb.empty()) {
    log_info("debian: apt-get download {}", pkg);
    std::string out;
    int rc = run_command("cd '" + cache + "' && apt-get download " + pkg, out);
    deb = find_deb(cache, pkg);
    if (rc != 0 || deb.empty())
      fail("apt-get download {} failed (exit {}): {}\n(check the package name with `apt-cache policy {}`, "
           "run `apt-get update`, and check network access to the Debian mirrors)",
           pkg, rc, trim(out), pkg);
  }
  Package p;
  p.name = pkg;
  std::string file = fs::path(deb).filename().string();
  size_t a = file.find('_'), b = file.rfind('_');
  p.version = url_unescape(a != b ? file.substr(a + 1, b - a - 1) : "unknown");
  p.root = cache + "/" + pkg + "_" + file.substr(a + 1, b == std::string::npos ? 0 : b - a - 1);
  if (!fs::exists(p.root + "/.extracted")) {
    fs::remove_all(p.root);
    make_dirs(p.root);
    std::string out;
    int rc = run_command("dpkg-deb -x '" + deb + "' '" + p.root + "'", out);
    if (rc != 0) fail("dpkg-deb -x {} failed (exit {}): {}", deb, rc, trim(out));
    std::FILE* m = std::fopen((p.root + "/.extracted").c_str(), "w");
    if (m) std::fclose(m);
  }
  return p;
}

struct Page {
  std::string lang;  // "ko" or "en"
  const Package* pkg;
  std::string rel;   // path inside the package
  bool lohelp;
};

// Language and pair key of an HTML path, or false when it is neither ko nor en.
bool page_language(const std::string& rel, std::string& lang, std::string& key) {
  static const std::pair<const char*, const char*> marks[] = {
      {"/ko/", "ko"}, {"/en-US/", "en"}, {"/en/", "en"}, {".ko.html", "ko"}, {".en.html", "en"}};
  for (auto [m, l] : marks) {
    size_t p = rel.find(m);
    if (p == std::string::npos) continue;
    lang = l;
    key = rel;
    key.replace(p, std::strlen(m), m[0] == '/' ? "/{lang}/" : ".{lang}.html");
    return true;
  }
  return false;
}

std::string read_whole(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail_io("{}: cannot read: {}", path, std::strerror(errno));
  std::string s;
  std::array<char, 65536> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) s.append(buf.data(), n);
  std::fclose(f);
  return s;
}

Document make_doc(const Package& pkg, const std::string& rel, const std::string& lang, const std::string& key,
                  std::string text) {
  Document d;
  d.id = fmt::format("debian/{}/{}#{}", pkg.name, rel, lang);
  d.text = std::move(text);
  d.lang = lang;
  d.source = "debian";
  d.meta = {{"package", pkg.name}, {"version", pkg.version}, {"path", "/" + rel}, {"pair", key}};
  return d;
}

}  // namespace

void ingest_debian(const DebianOptions& opt, IngestSink& sink) {
  sink.limit = opt.limit;
  std::string cache = opt.cache_dir;
  if (cache.empty()) {
    const char* home = std::getenv("HOME");
    cache = std::string(home && *home ? home : ".") + "/.cache/kormo/debian";
  }
  make_dirs(cache);
  cache = fs::absolute(cache).string();
  std::vector<std::string> names = opt.packages.empty() ? default_debian_packages() : opt.packages;
  std::vector<Package> pkgs;
  pkgs.reserve(names.size());
  for (const auto& n : names) pkgs.push_back(fetch_package(cache, n));

  // Collect pages (by pair key) and catalogs.
  std::map<std::string, std::map<std::string, Page>> pages;
  std::vector<std::pair<const Package*, std::string>> catalogs;
  for (const auto& p : pkgs) {
    std::vector<std::string> files;
    for (auto it = fs::recursive_directory_iterator(p.root); it != fs::recursive_directory_iterator(); ++it)
      if (it->is_regular_file() && !it->is_symlink()) files.push_back(fs::relative(it->path(), p.root).string());
    std::sort(files.begin(), files.end());
    for (const auto& rel : files) {
      if (rel.ends_with(".mo") && rel.find("locale/ko/LC_MESSAGES/") != std::string::npos) {
        catalogs.emplace_back(&p, rel);
      } else if (rel.ends_with(".html")) {
        std::string lang, key;
        if (page_language(rel, lang, key))
          pages[key][lang] = Page{lang, &p, rel, rel.find("libreoffice/help/") != std::string::npos};
      }
    }
  }

  for (const auto& page : pages) {
    // Named (not a structured binding) so the lambda below can capture it.
    const std::string& key = page.first;
    const auto& langs = page.second;
    if (sink.full()) break;
    auto en = langs.find("en"), ko = langs.find("ko");
    bool lohelp = (en != langs.end() && en->second.lohelp) || (ko != langs.end() && ko->second.lohelp);
    if (lohelp) {
      const std::vector<std::string> prefixes = {"par_id", "hd_id"};
      std::map<std::string, std::string> en_pars;
      std::vector<IdParagraph> en_list, ko_list;
      if (en != langs.end()) {
        en_list = html_paragraphs_by_id(read_whole(en->second.pkg->root + "/" + en->second.rel), prefixes);
        for (const auto& p : en_list) en_pars[p.id] = p.text;
      }
      if (ko != langs.end())
        ko_list = html_paragraphs_by_id(read_whole(ko->second.pkg->root + "/" + ko->second.rel), prefixes);
      auto emit = [&](const Page& pg, const std::vector<IdParagraph>& list, bool skip_untranslated) {
        std::string text;
        json ids = json::array();
        for (const auto& p : list) {
          auto it = en_pars.find(p.id);
          if (skip_untranslated && it != en_pars.end() && it->second == p.text) continue;
          if (!text.empty()) text += "\n\n";
          text += p.text;
          ids.push_back(p.id);
        }
        if (trim(text).empty() || !text::is_valid_utf8(text)) return;
        Document d = make_doc(*pg.pkg, pg.rel, pg.lang, key, std::move(text));
        d.meta["paragraph_ids"] = ids;
        sink.emit(d);
      };
      if (en != langs.end()) emit(en->second, en_list, false);
      if (ko != langs.end()) emit(ko->second, ko_list, en != langs.end());
    } else {
      for (const char* l : {"en", "ko"}) {
        auto it = langs.find(l);
        if (it == langs.end()) continue;
        std::string html = read_whole(it->second.pkg->root + "/" + it->second.rel);
        if (!text::is_valid_utf8(html)) html = text::replace_invalid_utf8(html);
        std::string text = html_to_text(html);
        if (trim(text).empty()) continue;
        Document d = make_doc(*it->second.pkg, it->second.rel, l, key, std::move(text));
        std::string title = html_title(html);
        if (!title.empty()) d.meta["title"] = title;
        sink.emit(d);
      }
    }
  }
  for (const auto& [pkg, rel] : catalogs) {
    if (sink.full()) break;
    std::string path = pkg->root + "/" + rel;
    auto pairs = parse_mo(read_whole(path), path);
    std::string en, ko;
    // Lines per entry on each side: entries may span lines (--help texts), and a
    // reader re-pairs the two sides by these counts.
    json en_lines = json::array(), ko_lines = json::array();
    size_t n = 0;
    for (const auto& [id, tr] : pairs) {
      if (!text::is_valid_utf8(id) || !text::is_valid_utf8(tr)) continue;
      for (auto [entry, text, lines] : {std::tuple{trim(id), &en, &en_lines}, std::tuple{trim(tr), &ko, &ko_lines}}) {
        *text += entry;
        *text += '\n';
        lines->push_back(1 + std::count(entry.begin(), entry.end(), '\n'));
      }
      ++n;
    }
    if (n == 0) continue;
    std::string key = pkg->name + ":" + rel;
    for (auto [lang, text, lines] : {std::tuple{"en", &en, &en_lines}, std::tuple{"ko", &ko, &ko_lines}}) {
      Document d = make_doc(*pkg, rel, lang, key, *text);
      d.meta["pairs"] = n;
      d.meta["catalog_side"] = std::string(lang) == "en" ? "msgid" : "msgstr";
      d.meta["entry_lines"] = std::move(*lines);
      sink.emit(d);
    }
  }
}

}  // namespace kormo::data
