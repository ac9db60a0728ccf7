// The built-in invokers, one per agent CLI; the registry in invoker.cc lists them.
#pragma once

#include <string>
#include <vector>

#include "agents/invoker.h"

namespace baton::agents {

/// Claude Code (`claude`, npm @anthropic-ai/claude-code); see claude.cc.
const Invoker& claude_invoker();
/// OpenAI Codex CLI (`codex`, npm @openai/codex); see codex.cc.
const Invoker& codex_invoker();
/// Gemini CLI (`gemini`, npm @google/gemini-cli); see gemini.cc.
const Invoker& gemini_invoker();
/// Qwen Code (`qwen`, npm @qwen-code/qwen-code); see qwen.cc.
const Invoker& qwen_invoker();
/// opencode (`opencode`, npm opencode-ai); see opencode.cc.
const Invoker& opencode_invoker();
/// Kilo Code's CLI (`kilo`, npm @kilocode/cli), opencode's event format; see opencode.cc.
const Invoker& kilocode_invoker();
/// GitHub Copilot CLI (`copilot`, npm @github/copilot); see copilot.cc.
const Invoker& copilot_invoker();
/// Augment's Auggie (`auggie`, npm @augmentcode/auggie); see auggie.cc.
const Invoker& auggie_invoker();
/// Cursor's CLI (`cursor-agent`, not on npm); see cursor.cc.
const Invoker& cursor_invoker();

/// The built-in invoker named NAME (baton's name, e.g. "kilocode"), or nullptr.
const Invoker* builtin_invoker(const std::string& name);

/// The names of the built-in agents, sorted.
const std::vector<std::string>& builtin_agent_names();

/// Sets known_agent_names() to the built-in names plus CUSTOM_NAMES, sorted. Called
/// by register_custom_agent() (custom.cc) under its registry's mutex.
void refresh_known_agent_names(const std::vector<std::string>& custom_names);

}  // namespace baton::agents
