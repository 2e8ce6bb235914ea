#include "train/data_cursor.h"

#include <numeric>
#include <random>

#include "core/error.h"

namespace elm::train {

std::string DataCursor::to_string() const {
  return str_cat("epoch=", epoch, " position=", position, " seed=", seed);
}

std::vector<std::int64_t> DataCursor::to_vector() const {
  return {epoch, position, static_cast<std::int64_t>(seed)};
}

DataCursor DataCursor::from_vector(const std::vector<std::int64_t>& v) {
  ELM_CHECK(v.size() == 3, "data cursor: expected 3 values (epoch, position, seed), got ", v.size());
  ELM_CHECK(v[0] >= 0 && v[1] >= 0, "data cursor: negative epoch or position (epoch=", v[0],
            " position=", v[1], ")");
  DataCursor c;
  c.epoch = v[0];
  c.position = v[1];
  c.seed = static_cast<std::uint64_t>(v[2]);
  return c;
}

namespace {

// SplitMix64 finaliser: spreads (seed, epoch) over the 64-bit seed space.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Uniform in [0, bound) by rejection (std::uniform_int_distribution differs between libraries).
std::uint64_t below(std::mt19937_64& rng, std::uint64_t bound) {
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
  std::uint64_t r;
  do {
    r = rng();
  } while (r >= limit);
  return r % bound;
}

}  // namespace

std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::int64_t epoch, bool shuffle) {
  ELM_CHECK(n >= 0, "epoch_order: negative size ", n);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  if (!shuffle || n < 2) return order;
  std::mt19937_64 rng(mix(seed ^ mix(static_cast<std::uint64_t>(epoch))));
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(below(rng, static_cast<std::uint64_t>(i) + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

}  // namespace elm::train
