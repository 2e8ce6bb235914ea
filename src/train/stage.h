#pragma once
// What a training run trains (training.stage): see docs/training.md.
//   router:   the routers, on soft labels (router records, or qa records naming their entry)
//   fusion:   the memory components, on the next-token cross-entropy at the loss positions
//   joint:    cross-entropy + similarity + diversity losses (weights in LossWeights)
//   backbone: the backbone itself, without memory (tiny demos only; production never does this)
#include <string_view>

namespace elm::train {

enum class Stage { router, fusion, joint, backbone };

Stage parse_stage(std::string_view name);  // throws elm::Error listing the stages
const char* stage_name(Stage stage);

// Coefficients of the stage losses (training.*_weight, training.router_temperature).
struct LossWeights {
  double ce = 1.0;
  double similarity = 0.1;
  double diversity = 0.05;
  double router = 0.0;  // fusion/joint: router loss on entries that examples name
  double router_temperature = 1.0;
};

}  // namespace elm::train
