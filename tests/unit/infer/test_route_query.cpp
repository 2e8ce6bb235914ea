// make_router_route: the candidates it returns are the ones the model's own forward reports at the
// fact's last position, for the first memory layer or a chosen one, in eval mode.
#include <gtest/gtest.h>

#include "core/error.h"
#include "infer/route_query.h"
#include "support/assertions.h"
#include "support/small_explicit_lm.h"

namespace elm::infer {
namespace {

using namespace elm::testing;

std::vector<int64_t> forward_candidates(memory::ExplicitLM& lm, const std::vector<int32_t>& ids, size_t layer_pos) {
  torch::NoGradGuard no_grad;
  auto out = lm.forward(ids_tensor(std::vector<int64_t>(ids.begin(), ids.end())));
  auto c = out.layers.at(layer_pos).candidate_indices[0][static_cast<int64_t>(ids.size()) - 1].contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

TEST(RouterRoute, ReturnsTheForwardsCandidatesAtTheLastPosition) {
  auto mc = small_memory(memory::QueryPooling::kCausalPrefix, 32, {1, 2});
  mc.dropout = 0.3;  // training-mode dropout would change the router's query: the route must not use it
  memory::ExplicitLM lm(small_backbone(), small_bank(), mc, 5);
  lm.train();
  const RouteFunction first = make_router_route(lm);
  const RouteFunction second = make_router_route(lm, 2);
  const std::vector<std::vector<int32_t>> facts = {{5, 17, 42}, {200, 3}, {9}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}};
  std::vector<std::vector<int64_t>> got_first, got_second;
  for (const auto& ids : facts) {
    got_first.push_back(first(ids));
    got_second.push_back(second(ids));
    EXPECT_TRUE(lm.is_training()) << "the model's mode is restored";
  }
  lm.eval();
  bool differ = false;
  for (size_t k = 0; k < facts.size(); ++k) {
    EXPECT_EQ(got_first[k], forward_candidates(lm, facts[k], 0)) << "fact " << k;
    EXPECT_EQ(got_second[k], forward_candidates(lm, facts[k], 1)) << "fact " << k;
    EXPECT_EQ(got_first[k].size(), 4u);
    for (int64_t c : got_first[k]) {
      EXPECT_GE(c, 0);
      EXPECT_LT(c, 64);
    }
    differ |= got_first[k] != got_first[0];
  }
  EXPECT_TRUE(differ) << "different facts should route differently";
}

TEST(RouterRoute, RejectsALayerWithoutMemoryAndEmptyFacts) {
  auto mc = small_memory(memory::QueryPooling::kCausalPrefix, 32, {1, 2});
  memory::ExplicitLM lm(small_backbone(), small_bank(), mc, 5);
  EXPECT_CONTAINS(error_of([&] { make_router_route(lm, 0); }), "decoder layer 0 has no memory layer");
  const auto route = make_router_route(lm);
  EXPECT_THROW(route({}), Error);
}

}  // namespace
}  // namespace elm::infer
