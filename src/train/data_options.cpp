#include "train/data_options.h"

#include "core/error.h"

namespace elm::train {

DataFormat parse_data_format(std::string_view name) {
  if (name == "pretrain") return DataFormat::pretrain;
  if (name == "sft") return DataFormat::sft;
  if (name == "router") return DataFormat::router;
  if (name == "qa") return DataFormat::qa;
  fail("unknown data format '", name, "' (expected pretrain, sft, router or qa)");
}

const char* data_format_name(DataFormat format) {
  switch (format) {
    case DataFormat::pretrain:
      return "pretrain";
    case DataFormat::sft:
      return "sft";
    case DataFormat::router:
      return "router";
    case DataFormat::qa:
      return "qa";
  }
  return "?";
}

DataOptions DataOptions::from_config(const Config& config, DataSplit split) {
  DataOptions o;
  o.path = config.get_string(split == DataSplit::train ? "data.train_path" : "data.eval_path");
  o.format = parse_data_format(config.get_string("data.format"));
  o.max_length = config.get_int("data.max_length");
  o.skip_bad_lines = config.get_bool("data.skip_bad_lines");
  o.shuffle = config.get_bool("data.shuffle");
  o.wrap_chat_template = config.get_bool("data.wrap_chat_template");
  return o;
}

}  // namespace elm::train
