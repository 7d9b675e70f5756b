#include "kormo/util/io.h"

#include <fcntl.h>
#include <signal.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "kormo/util/error.h"

namespace fs = std::filesystem;

namespace kormo {

bool has_zst_suffix(std::string_view path) {
  return path.size() >= 4 && path.substr(path.size() - 4) == ".zst";
}

std::string read_file(const std::string& path) {
  LineReader r(path);
  std::string out;
  std::string_view line;
  bool first = true;
  // LineReader strips '\n'; rebuild exactly, tracking whether input ended with one.
  while (r.next(line)) {
    if (!first) out.push_back('\n');
    out.append(line);
    first = false;
  }
  if (!first && r.bytes_read() > out.size()) out.push_back('\n');
  return out;
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& patterns) {
  std::vector<std::string> files;
  for (const auto& pat : patterns) {
    if (pat == "-") {
      files.push_back(pat);
      continue;
    }
    glob_t g{};
    int rc = ::glob(pat.c_str(), GLOB_NOSORT | GLOB_TILDE, nullptr, &g);
    if (rc == GLOB_NOMATCH) {
      globfree(&g);
      fail("input '{}': no such file (or the pattern matches nothing)", pat);
    }
    if (rc != 0) {
      globfree(&g);
      fail_io("input '{}': cannot expand pattern", pat);
    }
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      fs::path p(g.gl_pathv[i]);
      std::error_code ec;
      if (fs::is_directory(p, ec)) {
        for (auto& e : fs::recursive_directory_iterator(p, ec))
          if (e.is_regular_file()) files.push_back(e.path().string());
      } else {
        files.push_back(p.string());
      }
    }
    globfree(&g);
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

// ---------------------------------------------------------------- LineReader

struct LineReader::Source {
  int fd = -1;
  bool own_fd = false;
  ZSTD_DCtx* dctx = nullptr;
  std::string in;        // compressed input buffer
  ZSTD_inBuffer zin{nullptr, 0, 0};
  uint64_t file_bytes = 0;
  bool file_eof = false;
  bool frame_done = true;

  ~Source() {
    if (dctx) ZSTD_freeDCtx(dctx);
    if (own_fd && fd >= 0) ::close(fd);
  }
};

LineReader::LineReader(const std::string& path) : path_(path), src_(std::make_unique<Source>()) {
  if (path == "-") {
    src_->fd = 0;
  } else {
    src_->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (src_->fd < 0) fail_io("{}: cannot open: {}", path, std::strerror(errno));
    src_->own_fd = true;
  }
  if (has_zst_suffix(path)) {
    src_->dctx = ZSTD_createDCtx();
    src_->in.resize(ZSTD_DStreamInSize());
  }
}

LineReader::~LineReader() = default;

uint64_t LineReader::file_bytes_read() const { return src_->file_bytes; }

// Appends more decompressed data to buf_; returns false at end of input.
bool LineReader::fill() {
  constexpr size_t kChunk = 1 << 20;
  Source& s = *src_;
  if (!s.dctx) {
    size_t old = buf_.size();
    buf_.resize(old + kChunk);
    ssize_t n;
    do n = ::read(s.fd, buf_.data() + old, kChunk); while (n < 0 && errno == EINTR);
    if (n < 0) fail_io("{}: read error: {}", path_, std::strerror(errno));
    buf_.resize(old + static_cast<size_t>(n));
    s.file_bytes += static_cast<uint64_t>(n);
    return n > 0;
  }
  while (true) {
    if (s.zin.pos == s.zin.size && !s.file_eof) {
      ssize_t n;
      do n = ::read(s.fd, s.in.data(), s.in.size()); while (n < 0 && errno == EINTR);
      if (n < 0) fail_io("{}: read error: {}", path_, std::strerror(errno));
      if (n == 0) s.file_eof = true;
      s.file_bytes += static_cast<uint64_t>(n);
      s.zin = {s.in.data(), static_cast<size_t>(n), 0};
    }
    if (s.zin.pos == s.zin.size && s.file_eof) {
      if (!s.frame_done)
        fail("{}: truncated zstd stream (ends inside a frame after {} compressed bytes)", path_, s.file_bytes);
      return false;
    }
    size_t old = buf_.size();
    buf_.resize(old + kChunk);
    ZSTD_outBuffer zout{buf_.data() + old, kChunk, 0};
    size_t rc = ZSTD_decompressStream(s.dctx, &zout, &s.zin);
    if (ZSTD_isError(rc))
      fail("{}: corrupt zstd data near compressed byte {}: {}", path_, s.file_bytes, ZSTD_getErrorName(rc));
    s.frame_done = (rc == 0);
    buf_.resize(old + zout.pos);
    if (zout.pos > 0) return true;
  }
}

bool LineReader::next(std::string_view& line) {
  size_t search_from = pos_;
  while (true) {
    size_t nl = buf_.find('\n', search_from);
    if (nl != std::string::npos) {
      line = std::string_view(buf_).substr(pos_, nl - pos_);
      consumed_ += nl - pos_ + 1;
      pos_ = nl + 1;
      ++line_no_;
      return true;
    }
    if (eof_) {
      if (pos_ < buf_.size()) {
        line = std::string_view(buf_).substr(pos_);
        consumed_ += buf_.size() - pos_;
        pos_ = buf_.size();
        ++line_no_;
        return true;
      }
      return false;
    }
    // Compact the consumed prefix before reading more so the buffer stays bounded
    // by the longest line plus one chunk.
    if (pos_ > 0) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    search_from = buf_.size();
    if (!fill()) eof_ = true;
  }
}

// -------------------------------------------------------------- AtomicWriter

struct AtomicWriter::Compressor {
  ZSTD_CCtx* cctx = nullptr;
  std::string out;
  ~Compressor() {
    if (cctx) ZSTD_freeCCtx(cctx);
  }
};

AtomicWriter::AtomicWriter(std::string path, int zstd_level) : path_(std::move(path)) {
  fs::path p(path_);
  std::error_code ec;
  // Renaming over a device or directory (e.g. -o /dev/null) would replace it.
  if (fs::exists(p, ec) && !fs::is_regular_file(p, ec))
    fail("{}: exists and is not a regular file; refusing to replace it", path_);
  if (p.has_parent_path()) make_dirs(p.parent_path().string());
  tmp_path_ = path_ + ".tmp." + std::to_string(::getpid());
  file_ = std::fopen(tmp_path_.c_str(), "wb");
  if (!file_) fail_io("{}: cannot create: {}", tmp_path_, std::strerror(errno));
  if (has_zst_suffix(path_)) {
    zstd_ = std::make_unique<Compressor>();
    zstd_->cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(zstd_->cctx, ZSTD_c_compressionLevel, zstd_level);
    ZSTD_CCtx_setParameter(zstd_->cctx, ZSTD_c_checksumFlag, 1);
    zstd_->out.resize(ZSTD_CStreamOutSize());
  }
}

AtomicWriter::~AtomicWriter() {
  if (file_) std::fclose(file_);
  if (!committed_) ::unlink(tmp_path_.c_str());
}

void AtomicWriter::write(std::string_view data) {
  // Appended in buffer-sized pieces: one large write (a checkpoint's flat AdamW moment,
  // 4 bytes per parameter) must not be copied whole into the buffer first.
  constexpr size_t kBuffer = 1u << 20;
  while (!data.empty()) {
    const size_t n = std::min(data.size(), kBuffer - buf_.size());  // buf_ is below kBuffer here
    buf_.append(data.substr(0, n));
    data.remove_prefix(n);
    if (buf_.size() >= kBuffer) flush_buffer();
  }
}

// Compressing bytes already in memory fails only when kormo misuses zstd: internal.
void AtomicWriter::flush_buffer() {
  auto put = [&](const char* p, size_t n) {
    if (n && std::fwrite(p, 1, n, file_) != n) fail_io("{}: write failed: {}", tmp_path_, std::strerror(errno));
  };
  if (!zstd_) {
    put(buf_.data(), buf_.size());
  } else {
    ZSTD_inBuffer in{buf_.data(), buf_.size(), 0};
    while (in.pos < in.size) {
      ZSTD_outBuffer out{zstd_->out.data(), zstd_->out.size(), 0};
      size_t rc = ZSTD_compressStream2(zstd_->cctx, &out, &in, ZSTD_e_continue);
      if (ZSTD_isError(rc)) fail_internal("{}: zstd error: {}", tmp_path_, ZSTD_getErrorName(rc));
      put(zstd_->out.data(), out.pos);
    }
  }
  buf_.clear();
}

void AtomicWriter::commit() {
  if (committed_) return;
  flush_buffer();
  if (zstd_) {
    ZSTD_inBuffer in{nullptr, 0, 0};
    size_t remaining;
    do {
      ZSTD_outBuffer out{zstd_->out.data(), zstd_->out.size(), 0};
      remaining = ZSTD_compressStream2(zstd_->cctx, &out, &in, ZSTD_e_end);
      if (ZSTD_isError(remaining)) fail_internal("{}: zstd error: {}", tmp_path_, ZSTD_getErrorName(remaining));
      if (out.pos && std::fwrite(zstd_->out.data(), 1, out.pos, file_) != out.pos)
        fail_io("{}: write failed: {}", tmp_path_, std::strerror(errno));
    } while (remaining != 0);
  }
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
    fail_io("{}: flush failed: {}", tmp_path_, std::strerror(errno));
  std::fclose(file_);
  file_ = nullptr;
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0)
    fail_io("{}: cannot rename into place: {}", path_, std::strerror(errno));
  committed_ = true;
}

void write_file_atomic(const std::string& path, std::string_view data) {
  AtomicWriter w(path);
  w.write(data);
  w.commit();
}

void check_output_not_input(const std::string& output, const std::vector<std::string>& inputs) {
  struct stat out {};
  if (output.empty() || output == "-" || ::stat(output.c_str(), &out) != 0) return;
  for (const auto& in : inputs) {
    struct stat st {};
    if (in == "-" || ::stat(in.c_str(), &st) != 0) continue;
    if (st.st_dev == out.st_dev && st.st_ino == out.st_ino)
      fail_usage("output {} is the input {} (the same file): writing it would replace the input; choose another output",
                 output, in);
  }
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) fail_io("{}: cannot create directory: {}", path, ec.message());
}

namespace {
uintmax_t bytes_under(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_directory(p, ec)) return fs::file_size(p, ec);
  uintmax_t n = 0;
  for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec)) n += it->file_size(ec);
  return n;
}
}  // namespace

TempCleanup remove_stale_temporaries(const std::string& dir) {
  TempCleanup done;
  std::vector<fs::path> doomed;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory(ec) && name.size() > 5 && name.front() == '.' && name.ends_with(".tmp")) {
      doomed.push_back(it->path());
      it.disable_recursion_pending();
      continue;
    }
    const size_t at = name.rfind(".tmp.");
    if (!it->is_regular_file(ec) || at == std::string::npos) continue;
    const std::string pid = name.substr(at + 5);
    if (pid.empty() || pid.size() > 9 || !std::all_of(pid.begin(), pid.end(), ::isdigit)) continue;
    if (::kill(std::stoi(pid), 0) == 0 || errno != ESRCH) continue;  // its writer may still be running
    doomed.push_back(it->path());
  }
  for (const fs::path& p : doomed) {
    const uintmax_t bytes = bytes_under(p);
    if (fs::remove_all(p, ec) > 0 && !ec) {
      done.entries += 1;
      done.bytes += bytes;
    }
  }
  return done;
}

}  // namespace kormo
