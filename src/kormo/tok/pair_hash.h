// Hash of a packed (left id, right id) pair for the open-addressing tables of
// the trainer and the encoder. Both halves must reach the slot bits: with a
// plain multiply the low bits would depend on the right id alone and every
// pair sharing it would land in one probe chain.
#pragma once

#include <cstdint>

namespace kormo::tok {

inline uint64_t pack_pair(int32_t left, int32_t right) {
  return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
}

inline uint64_t hash_pair(uint64_t key) {
  key ^= key >> 31;
  key *= 0xbf58476d1ce4e5b9ull;
  key ^= key >> 29;
  return key;
}

}  // namespace kormo::tok
