#include "infer/dual_path_setup.h"

#include "core/error.h"
#include "core/logging.h"
#include "infer/compressor.h"
#include "infer/route_query.h"

namespace elm::infer {

DualPathSetup make_dual_path(InferenceModel& model, MemoryLM* lm, const Config& c) {
  ELM_CHECK(model.has_memory(), "the dual path writes into a memory bank: it needs a trained ExplicitLM "
                                "(--run DIR or --checkpoint PATH), not a plain Qwen3");
  BankUpdaterOptions options = BankUpdaterOptions::from_config(c);
  RouteFunction route;
  if (options.policy == UpdatePolicy::kRoute) route = make_router_route(*model.lm);
  DualPathSetup s;
  s.updater = std::make_unique<BankUpdater>(*model.bank, model.reader.get(), *model.tokenizer,
                                            model.backbone->weights().embed_tokens, options, route);
  std::shared_ptr<const Compressor> compressor = make_compressor(c);
  DualPathOptions dp;
  dp.verify_replicas = c.get_bool("inference.verify_replicas");
  dp.full_check_every = c.get_int("inference.verify_full_every");
  s.dual = std::make_unique<DualPath>(
      make_fact_extractor(compressor, options.min_fact_chars, c.get_bool("inference.keep_questions")), *s.updater,
      *model.bank, dp);
  if (lm) lm->set_observer(s.dual->observer());
  ELM_LOG(info) << "dual path: extractor " << compressor->name() << ", policy " << c.get_string("inference.update_policy")
                << ", entries [" << s.updater->frozen_end() << ", " << s.updater->num_entries() << ") writable";
  return s;
}

}  // namespace elm::infer
