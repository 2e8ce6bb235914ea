#pragma once
// The [data] config keys as one struct: which file, which format, how examples are tokenised.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.h"

namespace elm::train {

// pretrain: {"text"}; sft: {"conversations": [{"role", "content"}, ...]};
// router: {"query", "target_indices", "target_scores"}; qa: {"prompt", "answer"} with optional
// "index" (the bank entry holding the fact) and "bank" overrides. See docs/training-data.md.
enum class DataFormat { pretrain, sft, router, qa };

// "pretrain" | "sft" | "router" | "qa"; anything else throws elm::Error.
DataFormat parse_data_format(std::string_view name);
const char* data_format_name(DataFormat format);

enum class DataSplit { train, eval };

struct DataOptions {
  std::string path;                  // JSONL file
  DataFormat format = DataFormat::pretrain;
  std::int64_t max_length = 512;     // tokens per example; longer examples are truncated
  bool skip_bad_lines = false;       // skip (and count) malformed lines instead of failing
  bool shuffle = true;               // DataLoader shuffles each epoch (seed: runtime.seed)
  bool wrap_chat_template = true;    // pretrain text as an assistant turn of the chat template

  // data.train_path (split train) or data.eval_path (split eval), and the other data.* keys.
  static DataOptions from_config(const Config& config, DataSplit split = DataSplit::train);
};

}  // namespace elm::train
