// File input and output shared by every stage.
//
// Promises:
//  - Readers handle plain and zstd-compressed files (by the ".zst" suffix) the
//    same way and report positions as "path:line" for errors.
//  - AtomicWriter never leaves a half-written file under the final name: data
//    goes to a temporary sibling that is renamed on commit() and removed if the
//    writer is destroyed without commit (exception, early return).
//  - A file that cannot be opened, read, written or renamed throws an Error of
//    kind kIo naming the path; malformed content (corrupt .zst) is kBadInput.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kormo {

bool has_zst_suffix(std::string_view path);

// Whole file into memory (decompressed if .zst). Throws Error naming the path.
std::string read_file(const std::string& path);

// Expands shell globs and directories (recursively, sorted) into a sorted,
// de-duplicated file list. A pattern that matches nothing is bad input.
std::vector<std::string> expand_inputs(const std::vector<std::string>& patterns);

// Streams lines (without the trailing '\n'; a trailing '\r' is kept so CRLF text
// round-trips) from a plain or .zst file, or from stdin when path is "-".
class LineReader {
 public:
  explicit LineReader(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Returns false at end of input. The view is valid until the next call.
  bool next(std::string_view& line);
  // 1-based number of the line last returned.
  uint64_t line_number() const { return line_no_; }
  // Bytes of (decompressed) input consumed so far.
  uint64_t bytes_read() const { return consumed_; }
  // Compressed/raw bytes read from disk so far (for progress on .zst inputs).
  uint64_t file_bytes_read() const;
  const std::string& path() const { return path_; }

 private:
  bool fill();

  std::string path_;
  struct Source;
  std::unique_ptr<Source> src_;
  std::string buf_;
  size_t pos_ = 0;
  uint64_t line_no_ = 0;
  uint64_t consumed_ = 0;
  bool eof_ = false;
};

// Writes a file atomically; compresses with zstd when the path ends in ".zst".
class AtomicWriter {
 public:
  explicit AtomicWriter(std::string path, int zstd_level = 3);
  ~AtomicWriter();
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;

  void write(std::string_view data);
  void write_line(std::string_view data) { write(data); write("\n"); }
  // Flushes, fsyncs and renames the temporary file onto the final path.
  void commit();
  const std::string& path() const { return path_; }

 private:
  void flush_buffer();

  std::string path_;
  std::string tmp_path_;
  std::FILE* file_ = nullptr;
  struct Compressor;
  std::unique_ptr<Compressor> zstd_;
  std::string buf_;
  bool committed_ = false;
};

// Writes `data` to `path` atomically.
void write_file_atomic(const std::string& path, std::string_view data);

// Refuses, as a usage error naming both paths, an output that is the same file
// as one of the inputs. Outputs are written to a temporary and renamed over
// their final name, so such a run would "succeed" and replace the input it was
// reading. Files are compared by device and inode, which sees through symlinks,
// hard links and other spellings ("./f", "d/../f"). An output that does not
// exist yet, "-" (stdin) and an empty output (stdout) are fine.
void check_output_not_input(const std::string& output, const std::vector<std::string>& inputs);

// Creates a directory and its parents; throws an I/O Error on failure.
void make_dirs(const std::string& path);

// Removes, below `dir`, what killed writers leave: AtomicWriter temporaries
// ("<name>.tmp.<pid>") whose process no longer exists on this machine, and ".<name>.tmp"
// directories (checkpoints and tokenizers are assembled in those, then renamed). Call it
// only where no other process can be writing such a directory (under the run lock, or in
// a single-process job: a pid says nothing about other machines).
struct TempCleanup {
  size_t entries = 0;
  uintmax_t bytes = 0;
};
TempCleanup remove_stale_temporaries(const std::string& dir);

}  // namespace kormo
