#include "train/stage.h"

#include "core/error.h"

namespace elm::train {

Stage parse_stage(std::string_view name) {
  if (name == "router") return Stage::router;
  if (name == "fusion") return Stage::fusion;
  if (name == "joint") return Stage::joint;
  if (name == "backbone") return Stage::backbone;
  fail("unknown training stage '", name, "' (expected router, fusion, joint or backbone)");
}

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::router: return "router";
    case Stage::fusion: return "fusion";
    case Stage::joint: return "joint";
    case Stage::backbone: return "backbone";
  }
  return "?";
}

}  // namespace elm::train
