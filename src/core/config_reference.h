#pragma once
// docs/config-reference.md, generated from the config schema (config_keys.cpp): every key with its
// type, default, constraint and help, one Markdown table per section. `explicitlm config
// --reference` prints it; tools/gen-config-reference writes the file, and a unit test fails when
// the committed file differs from what the schema gives.
#include <string>

#include "core/config_schema.h"

namespace elm {

// The whole reference page. Deterministic: the same schema gives the same bytes.
std::string config_reference_markdown(const ConfigSchema& schema);

// Text made safe for a Markdown table cell: '|' and '*' escaped (no broken row, no accidental
// emphasis), '<' as &lt; (so `<think>` stays visible instead of becoming an HTML tag), newlines
// as spaces.
std::string markdown_cell(const std::string& text);

}  // namespace elm
