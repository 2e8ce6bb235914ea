#include "app/generation_setup.h"

namespace elm::app {

void fold_generation_flags(const ArgParser& p, Config& c) {
  const std::string cli = "command line";
  if (auto v = p.maybe("--model")) c.set("model.qwen3_model_path", *v, cli);
  if (auto v = p.maybe("--dtype")) c.set("model.dtype", *v, cli);
  if (auto v = p.maybe("--threads")) c.set("runtime.threads", parse_int(*v, "--threads"), cli);
  if (auto v = p.maybe("--max-new-tokens")) c.set("generation.max_new_tokens", parse_int(*v, "--max-new-tokens"), cli);
  if (auto v = p.maybe("--temperature")) c.set("generation.temperature", parse_float(*v, "--temperature"), cli);
  if (auto v = p.maybe("--top-p")) c.set("generation.top_p", parse_float(*v, "--top-p"), cli);
  if (auto v = p.maybe("--top-k")) c.set("generation.top_k", parse_int(*v, "--top-k"), cli);
  if (auto v = p.maybe("--repetition-penalty"))
    c.set("generation.repetition_penalty", parse_float(*v, "--repetition-penalty"), cli);
  if (auto v = p.maybe("--seed")) c.set("runtime.seed", parse_int(*v, "--seed"), cli);
  if (auto v = p.maybe("--batch-size")) c.set("generation.batch_size", parse_int(*v, "--batch-size"), cli);
  if (p.has("--greedy")) c.set("generation.greedy", true, cli);
  if (p.has("--no-kv-cache")) c.set("generation.use_kv_cache", false, cli);
  if (p.has("--chat")) c.set("generation.chat", true, cli);
  if (p.has("--thinking")) c.set("generation.enable_thinking", true, cli);
  if (p.has("--no-memory")) c.set("generation.use_memory", false, cli);
  if (p.has("--dual-path")) c.set("inference.dual_path", true, cli);
  if (auto v = p.maybe("--extractor")) c.set("extractor.kind", *v, cli);
  if (auto v = p.maybe("--extractor-model")) c.set("extractor.model_path", *v, cli);
  if (auto v = p.maybe("--policy")) c.set("inference.update_policy", *v, cli);
  if (auto v = p.maybe("--bank-out")) c.set("inference.bank_out", *v, cli);
}

infer::GenerateOptions generation_options(const Config& c, const infer::InferenceModel& model, bool stop_at_eos) {
  infer::GenerateOptions options;
  options.max_new_tokens = c.get_int("generation.max_new_tokens");
  options.use_kv_cache = c.get_bool("generation.use_kv_cache");
  options.sampling.greedy = c.get_bool("generation.greedy");
  options.sampling.temperature = c.get_float("generation.temperature");
  options.sampling.top_p = c.get_float("generation.top_p");
  options.sampling.top_k = c.get_int("generation.top_k");
  options.sampling.repetition_penalty = c.get_float("generation.repetition_penalty");
  options.sampling.seed = static_cast<uint64_t>(c.get_int("runtime.seed"));
  const auto& mc = model.backbone->config();
  options.pad_id = model.bank ? model.bank->meta.pad_id : mc.bos_token_id;
  if (options.pad_id < 0 || options.pad_id >= mc.vocab_size) options.pad_id = 0;
  if (stop_at_eos) {
    // Qwen3's generation_config ends on <|im_end|> (eos) and <|endoftext|> (which Qwen3 also uses
    // as bos_token_id); the tokenizer names them when present.
    options.stop_ids.push_back(mc.eos_token_id);
    options.stop_ids.push_back(mc.bos_token_id);
    if (model.tokenizer) {
      for (const char* t : {"<|im_end|>", "<|endoftext|>"}) {
        if (auto id = model.tokenizer->token_to_id(t)) options.stop_ids.push_back(*id);
      }
    }
  }
  return options;
}

}  // namespace elm::app
