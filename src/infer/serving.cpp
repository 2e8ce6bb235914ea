#include "infer/serving.h"

#include <algorithm>
#include <chrono>

#include "core/clock.h"
#include "core/error.h"
#include "core/logging.h"
#include "dist/host_collectives.h"

namespace elm::infer {

nlohmann::json Response::to_json() const {
  nlohmann::json j = {{"index", index}};
  if (!id.empty()) j["id"] = id;
  j["text"] = text;
  j["tokens"] = tokens;
  j["stop_reason"] = stop_reason;
  j["prompt_tokens"] = prompt_tokens;
  j["rank"] = rank;
  j["round"] = round;
  j["seconds"] = seconds;
  if (!ingest.is_null()) j["ingest"] = ingest;
  return j;
}

int64_t rounds_for(int64_t total, int ranks, int64_t batch_size) {
  ELM_CHECK(batch_size >= 1 && ranks >= 1, "serve: batch size and ranks must be >= 1");
  const int64_t per_round = batch_size * ranks;
  return (total + per_round - 1) / per_round;
}

std::vector<int64_t> requests_of_round(int64_t total, int64_t round, int rank, int ranks, int64_t batch_size) {
  const int64_t first = (round * ranks + rank) * batch_size;
  std::vector<int64_t> out;
  for (int64_t i = first; i < std::min(total, first + batch_size); ++i) out.push_back(i);
  return out;
}

namespace {

// Responses of every rank for one round, as JSON lines, gathered to everyone (small: text only).
std::vector<Response> gather_responses(MPI_Comm comm, const std::vector<Response>& mine) {
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& r : mine) lines.push_back(r.to_json());
  std::vector<Response> all;
  for (const std::string& text : dist::all_gather_text(comm, lines.dump())) {
    for (const auto& j : nlohmann::json::parse(text)) {
      Response r;
      r.index = j.at("index").get<int64_t>();
      r.id = j.value("id", std::string());
      r.text = j.at("text").get<std::string>();
      r.tokens = j.at("tokens").get<std::vector<int64_t>>();
      r.stop_reason = j.at("stop_reason").get<std::string>();
      r.prompt_tokens = j.at("prompt_tokens").get<int64_t>();
      r.rank = j.at("rank").get<int>();
      r.round = j.at("round").get<int64_t>();
      r.seconds = j.at("seconds").get<double>();
      if (j.contains("ingest")) r.ingest = j["ingest"];
      all.push_back(std::move(r));
    }
  }
  std::sort(all.begin(), all.end(), [](const Response& a, const Response& b) { return a.index < b.index; });
  return all;
}

}  // namespace

ServeSummary serve(CausalLM& lm, const std::vector<Request>& requests, const ServeOptions& options, MPI_Comm comm,
                   const text::Tokenizer* tokenizer, RoundParticipant* aux) {
  const auto start = std::chrono::steady_clock::now();
  const int rank = dist::rank_in(comm), ranks = dist::size_of(comm);
  const auto total = static_cast<int64_t>(requests.size());
  ServeSummary summary;
  summary.requests = total;
  summary.round_count = rounds_for(total, ranks, options.batch_size);
  for (int64_t round = 0; round < summary.round_count; ++round) {
    std::vector<const Request*> mine;
    for (int64_t i : requests_of_round(total, round, rank, ranks, options.batch_size)) {
      mine.push_back(&requests[static_cast<size_t>(i)]);
    }
    if (aux) aux->begin_round(round, mine);

    std::vector<Response> responses;
    if (!mine.empty()) {
      std::vector<std::vector<int64_t>> prompts;
      std::vector<uint64_t> seeds;
      for (const Request* r : mine) {
        prompts.push_back(r->ids);
        // A request keeps its seed wherever it runs: the seed of its index in the input.
        seeds.push_back(options.generate.sampling.seed + static_cast<uint64_t>(r->index));
      }
      GenerateOptions go = options.generate;
      const auto round_start = std::chrono::steady_clock::now();
      auto results = generate_batch(lm, prompts, go, false, seeds);
      const double seconds = seconds_since(round_start);
      summary.generate_seconds += seconds;
      for (size_t b = 0; b < mine.size(); ++b) {
        Response r;
        r.index = mine[b]->index;
        r.id = mine[b]->id;
        r.tokens = results[b].tokens;
        r.stop_reason = results[b].stop_reason;
        r.prompt_tokens = static_cast<int64_t>(mine[b]->ids.size());
        r.rank = rank;
        r.round = round;
        r.seconds = seconds;
        if (tokenizer) r.text = tokenizer->decode(std::vector<int32_t>(r.tokens.begin(), r.tokens.end()));
        responses.push_back(std::move(r));
      }
    }

    nlohmann::json report;
    if (aux) {
      report = aux->end_round(round, comm);
      for (auto& r : responses) r.ingest = aux->ingest_of(r.index);
      summary.round_reports.push_back(report);
    }
    auto all = gather_responses(comm, responses);
    for (const auto& r : all) summary.new_tokens += static_cast<int64_t>(r.tokens.size());
    if (rank == 0 && options.on_response) {
      for (const auto& r : all) options.on_response(r);
    }
    if (options.on_round) options.on_round(round, report);
  }
  if (aux) summary.final_report = aux->finish(comm);
  summary.seconds = seconds_since(start);
  return summary;
}

}  // namespace elm::infer
