// The Debian source: real Korean and English documents fetched through the
// package manager, with nothing installed.
//
// For each package: `apt-get download PKG` into the cache directory (skipped
// when PKG_*.deb is already there) and `dpkg-deb -x` into cache/PKG/ (skipped
// when its completion marker exists). Then, from the extracted tree:
//  - LibreOffice help pages (…/libreoffice/help/{ko,en-US}/…html): paragraphs
//    aligned by their id="par_id…"/"hd_id…" attributes; the Korean document
//    keeps only paragraphs that differ from the English one (untranslated
//    paragraphs are English fallbacks), meta.paragraph_ids lists the ids;
//  - other HTML pages under a ko/ or en/ directory or named *.ko.html /
//    *.en.html (Debian FAQ, installation guide): one document per page;
//  - Korean gettext catalogs (usr/share/locale/ko/LC_MESSAGES/*.mo, parsed
//    natively): one Korean document of the translations and one English
//    document of the source strings per catalog, in the same order.
// Documents of one page or catalog share meta.pair. Every document has lang,
// source "debian", synthetic=false and meta {package, version, path}.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kormo/data/ingest.h"

namespace kormo::data {

struct DebianOptions {
  std::vector<std::string> packages;  // empty = default_debian_packages()
  std::string cache_dir;              // "" = ~/.cache/kormo/debian
  size_t limit = 0;
};

std::vector<std::string> default_debian_packages();

void ingest_debian(const DebianOptions& opt, IngestSink& sink);

// A parsed .mo catalog: (msgid, msgstr) pairs with plural forms and context
// reduced to the first singular form; the header entry is skipped.
std::vector<std::pair<std::string, std::string>> parse_mo(std::string_view data, const std::string& path);

}  // namespace kormo::data
