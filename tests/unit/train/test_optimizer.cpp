// AdamW wrapper: a hand-computed update (with decoupled weight decay), the learning-rate setter,
// gradient clipping, accumulation bookkeeping, a bit-exact state round trip, and loss reduction.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/assertions.h"
#include "train/optimizer.h"

namespace elm::train {
namespace {

torch::Tensor param(std::vector<double> v) {
  return torch::tensor(v, torch::dtype(torch::kFloat64)).set_requires_grad(true);
}

void set_grad(torch::Tensor& p, std::vector<double> g) {
  p.mutable_grad() = torch::tensor(g, torch::dtype(torch::kFloat64));
}

TEST(Optimizer, AdamWStepMatchesHandComputedUpdate) {
  AdamWConfig c;
  c.lr = 0.1;
  c.beta1 = 0.9;
  c.beta2 = 0.99;
  c.eps = 1e-8;
  c.weight_decay = 0.5;
  auto p = param({2.0});
  Optimizer opt({{"w", p}}, c);

  const double g1 = 0.3, g2 = -1.2;
  double w = 2.0, m = 0, v = 0;
  int step = 0;
  for (double g : {g1, g2}) {
    set_grad(p, {g});
    opt.step();
    ++step;
    w *= 1 - c.lr * c.weight_decay;
    m = c.beta1 * m + (1 - c.beta1) * g;
    v = c.beta2 * v + (1 - c.beta2) * g * g;
    const double mhat = m / (1 - std::pow(c.beta1, step));
    const double vhat_sqrt = std::sqrt(v) / std::sqrt(1 - std::pow(c.beta2, step));
    w -= c.lr * mhat / (vhat_sqrt + c.eps);
    EXPECT_NEAR(p.item<double>(), w, 1e-12) << "after step " << step;
  }
  EXPECT_LT(p.item<double>(), 2.0);  // decay and the first step both pulled it down; the second pushed up
}

TEST(Optimizer, SetLearningRateAppliesToEveryGroup) {
  auto p = param({1.0});
  AdamWConfig c;
  c.weight_decay = 0.0;
  Optimizer opt({{"w", p}}, c);
  opt.set_learning_rate(0.25);
  EXPECT_DOUBLE_EQ(opt.learning_rate(), 0.25);
  for (auto& g : opt.adamw().param_groups()) EXPECT_DOUBLE_EQ(g.options().get_lr(), 0.25);
  set_grad(p, {5.0});
  opt.step();
  EXPECT_NEAR(p.item<double>(), 0.75, 1e-9);  // first Adam step moves by lr * sign(g)
  EXPECT_CONTAINS(elm::testing::error_of([&] { opt.set_learning_rate(-1); }), "learning rate");
}

TEST(Optimizer, ClipGradNormReturnsPreClipNormAndScalesGrads) {
  auto a = param({0.0, 0.0});
  auto b = param({0.0});
  auto none = param({1.0});  // no gradient: ignored
  set_grad(a, {3.0, 0.0});
  set_grad(b, {4.0});
  const double norm = clip_grad_norm({a, b, none}, 1.0);
  EXPECT_NEAR(norm, 5.0, 1e-12);
  EXPECT_NEAR(a.grad()[0].item<double>(), 0.6, 1e-6);
  EXPECT_NEAR(b.grad()[0].item<double>(), 0.8, 1e-6);
  const double after = std::sqrt(std::pow(a.grad()[0].item<double>(), 2) + std::pow(b.grad()[0].item<double>(), 2));
  EXPECT_LE(after, 1.0);
  // under the threshold: returned, grads untouched
  set_grad(a, {0.3, 0.0});
  set_grad(b, {0.4});
  EXPECT_NEAR(clip_grad_norm({a, b}, 1.0), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(a.grad()[0].item<double>(), 0.3);
  EXPECT_DOUBLE_EQ(clip_grad_norm({none}, 1.0), 0.0);
  EXPECT_CONTAINS(elm::testing::error_of([&] { clip_grad_norm({a}, 0.0); }), "max_norm");
}

TEST(Optimizer, GradientAccumulatorSignalsEveryNthMicroStep) {
  GradientAccumulator acc(3);
  EXPECT_DOUBLE_EQ(acc.loss_scale(), 1.0 / 3);
  EXPECT_FALSE(acc.micro_step_done());
  EXPECT_FALSE(acc.micro_step_done());
  EXPECT_EQ(acc.pending(), 2);
  EXPECT_TRUE(acc.micro_step_done());
  EXPECT_EQ(acc.pending(), 0);
  EXPECT_FALSE(acc.micro_step_done());
  GradientAccumulator one(1);
  EXPECT_TRUE(one.micro_step_done());
  EXPECT_CONTAINS(elm::testing::error_of([] { GradientAccumulator bad(0); }), "accumulation");
}

TEST(Optimizer, AccumulatedScaledGradientsEqualTheFullBatchGradient) {
  auto w = torch::tensor({0.5, -1.0}, torch::kFloat64).set_requires_grad(true);
  auto x = torch::tensor({{1.0, 2.0}, {3.0, -1.0}, {0.5, 0.5}, {-2.0, 1.0}}, torch::kFloat64);
  auto full = (x.matmul(w)).pow(2).mean();
  full.backward();
  auto expected = w.grad().clone();
  w.mutable_grad() = torch::Tensor();
  GradientAccumulator acc(2);
  bool done = false;
  for (int i = 0; i < 2; ++i) {
    auto loss = x.slice(0, 2 * i, 2 * i + 2).matmul(w).pow(2).mean();
    (loss * acc.loss_scale()).backward();
    done = acc.micro_step_done();
  }
  EXPECT_TRUE(done);
  EXPECT_TRUE(torch::allclose(w.grad(), expected, 1e-12, 1e-12));
}

// Three parameters of different shapes and one gradient recipe, so runs can be compared.
struct Toy {
  torch::Tensor a, b, c;
  NamedTensors named() { return {{"a", a}, {"b", b}, {"c", c}}; }
  void grads(int step) {
    auto loss = (a * a).sum() * (1 + step) + (b.matmul(c) - 1).pow(2).sum();
    loss.backward();
  }
};

Toy make_toy() {
  torch::manual_seed(7);
  return {torch::randn({3, 4}).set_requires_grad(true), torch::randn({2, 5}).set_requires_grad(true),
          torch::randn({5}).set_requires_grad(true)};
}

AdamWConfig toy_config() {
  AdamWConfig c;
  c.lr = 0.01;
  c.weight_decay = 0.1;
  return c;
}

TEST(Optimizer, StateRoundTripIsBitExact) {
  // uninterrupted: 4 steps
  Toy u = make_toy();
  Optimizer ou(u.named(), toy_config());
  for (int s = 0; s < 4; ++s) {
    ou.zero_grad();
    u.grads(s);
    ou.step();
  }
  // interrupted: 3 steps, export, fresh optimizer over copies of the parameters, import, 1 step
  Toy i = make_toy();
  NamedTensors state;
  {
    Optimizer oi(i.named(), toy_config());
    for (int s = 0; s < 3; ++s) {
      oi.zero_grad();
      i.grads(s);
      oi.step();
    }
    state = oi.export_state();
  }
  ASSERT_EQ(state.size(), 9u);
  EXPECT_EQ(state[0].first, "a.exp_avg");
  EXPECT_EQ(state[1].first, "a.exp_avg_sq");
  EXPECT_EQ(state[2].first, "a.step");
  EXPECT_EQ(state[2].second.item<int64_t>(), 3);
  Toy r{i.a.detach().clone().set_requires_grad(true), i.b.detach().clone().set_requires_grad(true),
        i.c.detach().clone().set_requires_grad(true)};
  Optimizer orr(r.named(), toy_config());
  orr.import_state(state);
  EXPECT_EQ(orr.export_state().size(), 9u);
  orr.zero_grad();
  r.grads(3);
  orr.step();
  EXPECT_TRUE(torch::equal(r.a, u.a));
  EXPECT_TRUE(torch::equal(r.b, u.b));
  EXPECT_TRUE(torch::equal(r.c, u.c));

  // without the import the result differs (the test would catch a no-op import)
  Toy f{i.a.detach().clone().set_requires_grad(true), i.b.detach().clone().set_requires_grad(true),
        i.c.detach().clone().set_requires_grad(true)};
  Optimizer of(f.named(), toy_config());
  f.grads(3);
  of.step();
  EXPECT_FALSE(torch::equal(f.a, u.a));
}

TEST(Optimizer, ImportRejectsUnknownIncompleteAndMisshapenState) {
  using elm::testing::error_of;
  auto p = param({1.0, 2.0});
  Optimizer opt({{"w", p}}, AdamWConfig{});
  auto t2 = torch::zeros({2}, torch::kFloat64);
  auto st = torch::tensor(int64_t{1});
  EXPECT_CONTAINS(error_of([&] { opt.import_state({{"v.exp_avg", t2}}); }), "v.exp_avg");
  EXPECT_CONTAINS(error_of([&] { opt.import_state({{"w.exp_avg", t2}, {"w.step", st}}); }), "incomplete");
  EXPECT_CONTAINS(error_of([&] {
                    opt.import_state({{"w.exp_avg", torch::zeros({3})}, {"w.exp_avg_sq", t2}, {"w.step", st}});
                  }),
                  "shape");
  EXPECT_TRUE(opt.export_state().empty());  // nothing stepped, nothing imported
}

TEST(Optimizer, RejectsBadParameters) {
  using elm::testing::error_of;
  EXPECT_CONTAINS(error_of([] { Optimizer o({{"w", param({1.0})}, {"w", param({2.0})}}, AdamWConfig{}); }),
                  "duplicate");
  EXPECT_CONTAINS(error_of([] { Optimizer o({{"w", torch::ones({1})}}, AdamWConfig{}); }), "require grad");
  AdamWConfig c;
  c.beta2 = 1.0;
  EXPECT_CONTAINS(error_of([&] { Optimizer o({{"w", param({1.0})}}, c); }), "adamw.beta2");
}

TEST(Optimizer, FewStepsReduceAQuadraticLoss) {
  auto w = torch::tensor({3.0, -2.0, 1.5}, torch::kFloat64).set_requires_grad(true);
  auto target = torch::tensor({0.5, 0.5, 0.5}, torch::kFloat64);
  AdamWConfig c;
  c.lr = 0.1;
  Optimizer opt({{"w", w}}, c);
  auto loss_of = [&] { return (w - target).pow(2).sum(); };
  const double initial = loss_of().item<double>();
  double previous = initial;
  for (int s = 0; s < 20; ++s) {
    opt.zero_grad();
    auto loss = loss_of();
    loss.backward();
    opt.clip_grad_norm(10.0);
    opt.step();
    const double now = loss_of().item<double>();
    EXPECT_LT(now, previous) << "step " << s;
    previous = now;
  }
  EXPECT_LT(previous, 0.5 * initial);
}

}  // namespace
}  // namespace elm::train
