#include "text/added_tokens.h"

#include <algorithm>

namespace elm::text {

void AddedTokenMatcher::add(std::string content, std::int32_t id) {
  if (content.empty()) return;
  const auto first = static_cast<unsigned char>(content[0]);
  tokens_.push_back(Token{std::move(content), id});
  auto& list = by_first_byte_[first];
  list.push_back(static_cast<std::uint32_t>(tokens_.size() - 1));
  std::stable_sort(list.begin(), list.end(), [&](std::uint32_t a, std::uint32_t b) {
    return tokens_[a].content.size() > tokens_[b].content.size();
  });
}

void AddedTokenMatcher::split(std::string_view text, std::vector<Segment>& out) const {
  std::size_t plain_start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto& candidates = by_first_byte_[static_cast<unsigned char>(text[i])];
    const Token* hit = nullptr;
    for (std::uint32_t k : candidates) {
      const Token& t = tokens_[k];
      if (text.compare(i, t.content.size(), t.content) == 0) {
        hit = &t;
        break;
      }
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    if (i > plain_start) out.push_back(Segment{text.substr(plain_start, i - plain_start), -1});
    out.push_back(Segment{text.substr(i, hit->content.size()), hit->id});
    i += hit->content.size();
    plain_start = i;
  }
  if (plain_start < text.size()) out.push_back(Segment{text.substr(plain_start), -1});
}

}  // namespace elm::text
