// Content hashes for manifests and caching (xxHash XXH3, 128-bit as hex).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kormo {

uint64_t xxh3_64(std::string_view data, uint64_t seed = 0);
std::string xxh3_128_hex(std::string_view data);
// Hash of a file's bytes as stored on disk (not decompressed).
std::string file_xxh3_128_hex(const std::string& path);

}  // namespace kormo
