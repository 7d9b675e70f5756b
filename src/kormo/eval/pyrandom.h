// Python's `random.Random(seed).sample(...)`, reproduced draw for draw, because
// lm-evaluation-harness picks few-shot examples with it (fewshot_random_seed 1234) and a
// different pick is a different prompt, hence a different score.
//
// Promises:
//  - PyRandom(seed) is CPython's Random(int): MT19937 seeded by init_by_array over the
//    seed's 32-bit words (least significant first; [0] for 0).
//  - getrandbits(k) for 1 ≤ k ≤ 32 and randbelow(n < 2^32) equal CPython's (rejection sampling
//    over n.bit_length() bits).
//  - sample(n, k) returns the indices random.sample(range(n), k) returns, with both of
//    CPython's algorithms (a shrinking pool for small n, a set of taken indices
//    otherwise) and the same switch between them; the state advances identically.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <unordered_set>
#include <vector>

#include "kormo/util/error.h"

namespace kormo::eval {

class PyRandom {
 public:
  explicit PyRandom(uint64_t seed) {
    std::vector<uint32_t> key;
    for (uint64_t s = seed; s != 0; s >>= 32) key.push_back(static_cast<uint32_t>(s));
    if (key.empty()) key.push_back(0);
    init_by_array(key);
  }

  uint32_t next_u32() {
    if (i_ >= kN) twist();
    uint32_t y = mt_[i_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
  }

  uint32_t getrandbits(int k) {
    if (k < 1 || k > 32) fail_internal("getrandbits({}): only 1..32 bits are supported", k);
    return next_u32() >> (32 - k);
  }

  uint64_t randbelow(uint64_t n) {
    if (n == 0 || n >= (uint64_t{1} << 32)) fail_internal("randbelow({}): n must be in 1..2^32-1", n);
    const int k = std::bit_width(n);  // n itself, not n - 1: n may be 1
    uint64_t r = getrandbits(k);
    while (r >= n) r = getrandbits(k);
    return r;
  }

  std::vector<size_t> sample(size_t n, size_t k) {
    if (k > n) fail_internal("sample larger than population ({} > {})", k, n);
    std::vector<size_t> out(k);
    size_t setsize = 21;  // CPython's threshold between its two algorithms
    if (k > 5) setsize += static_cast<size_t>(std::pow(4.0, std::ceil(std::log(static_cast<double>(k * 3)) / std::log(4.0))));
    if (n <= setsize) {
      std::vector<size_t> pool(n);
      std::iota(pool.begin(), pool.end(), size_t{0});
      for (size_t i = 0; i < k; ++i) {
        const size_t j = randbelow(n - i);
        out[i] = pool[j];
        pool[j] = pool[n - i - 1];
      }
    } else {
      std::unordered_set<size_t> taken;
      for (size_t i = 0; i < k; ++i) {
        size_t j = randbelow(n);
        while (taken.count(j)) j = randbelow(n);
        taken.insert(j);
        out[i] = j;
      }
    }
    return out;
  }

 private:
  static constexpr int kN = 624, kM = 397;

  void init_genrand(uint32_t s) {
    mt_[0] = s;
    for (int i = 1; i < kN; ++i) mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);
    i_ = kN;
  }

  void init_by_array(const std::vector<uint32_t>& key) {
    init_genrand(19650218u);
    int i = 1;
    size_t j = 0;
    for (size_t k = std::max<size_t>(kN, key.size()); k > 0; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key[j] + static_cast<uint32_t>(j);
      ++i, ++j;
      if (i >= kN) mt_[0] = mt_[kN - 1], i = 1;
      if (j >= key.size()) j = 0;
    }
    for (int k = kN - 1; k > 0; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) - static_cast<uint32_t>(i);
      ++i;
      if (i >= kN) mt_[0] = mt_[kN - 1], i = 1;
    }
    mt_[0] = 0x80000000u;
  }

  void twist() {
    for (int k = 0; k < kN; ++k) {
      const uint32_t y = (mt_[k] & 0x80000000u) | (mt_[(k + 1) % kN] & 0x7fffffffu);
      mt_[k] = mt_[(k + kM) % kN] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    i_ = 0;
  }

  std::array<uint32_t, kN> mt_{};
  int i_ = kN;
};

}  // namespace kormo::eval
