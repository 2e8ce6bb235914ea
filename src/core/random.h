#pragma once
// Portable random helpers: the standard specifies std::mt19937_64 exactly, but not its
// distributions, so everything that must draw the same numbers on every standard library (seeded
// samples, synthetic data, replicated bank updates on MPI ranks) maps the raw 64-bit words itself.
#include <cstdint>
#include <random>

namespace elm {

// SplitMix64's finaliser: spreads a seed (or seed ^ stream) over the 64-bit space.
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [0, n) for n >= 1: rejects the low 2^64 mod n words, then takes the remainder.
inline uint64_t uniform_below(std::mt19937_64& gen, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;
  uint64_t x;
  do {
    x = gen();
  } while (x < threshold);
  return x % n;
}

}  // namespace elm
