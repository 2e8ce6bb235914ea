#include "train/data_cursor.h"

#include <numeric>
#include <random>

#include "core/error.h"
#include "core/random.h"

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


std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::int64_t epoch, bool shuffle) {
  ELM_CHECK(n >= 0, "epoch_order: negative size ", n);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  if (!shuffle || n < 2) return order;
  std::mt19937_64 rng(splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(epoch))));
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(uniform_below(rng, static_cast<std::uint64_t>(i) + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

}  // namespace elm::train
