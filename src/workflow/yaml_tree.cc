#include "workflow/yaml_tree.h"

#include <fmt/format.h>
#include <yaml.h>

#include <algorithm>
#include <new>
#include <unordered_map>

namespace baton::workflow {
namespace {

const std::string kEmpty;

uint64_t saturated_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

// A plain scalar without a tag that YAML reads as null (yaml-cpp's IsNullString: the
// core schema's forms, and the empty node).
bool is_null_string(std::string_view value) {
  return value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL";
}

// A node's tag as yaml-cpp reports it: the resolved tag when one is written ("!" for a
// lone "!"), else "!" for a quoted or block scalar (NON_PLAIN) and "?" for anything
// else.
std::string tag_of(const yaml_char_t* tag, bool non_plain) {
  if (tag != nullptr) return reinterpret_cast<const char*>(tag);
  return non_plain ? "!" : "?";
}

// libyaml counts a mark's index and column in characters; yaml-cpp's marks, which the
// rest of the loader reads (scalar_position.h, alias names), count bytes of the UTF-8
// text. Maps the one onto the other: directly for ASCII text, else by walking the text
// from the last place mapped (marks arrive mostly in order, so a document's marks cost
// one pass over it in all).
class MarkMapper {
 public:
  explicit MarkMapper(std::string_view text) : text_(text) {
    // libyaml skips a UTF-8 byte order mark before counting.
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") start_ = 3;
    ascii_ = start_ == 0 && std::all_of(text_.begin(), text_.end(), [](char c) {
               return static_cast<unsigned char>(c) < 0x80;
             });
    at_ = line_ = Cursor{0, start_};
  }

  YAML::Mark operator()(const yaml_mark_t& m) {
    YAML::Mark mark;
    mark.line = static_cast<int>(m.line);
    if (ascii_) {
      mark.pos = static_cast<int>(m.index);
      mark.column = static_cast<int>(m.column);
      return mark;
    }
    const size_t pos = seek(at_, m.index);
    mark.pos = static_cast<int>(pos);
    mark.column = static_cast<int>(pos - seek(line_, m.index - std::min(m.index, m.column)));
    return mark;
  }

  /// The mark of byte OFFSET of the text (libyaml's reader errors give a byte offset).
  YAML::Mark at_byte(size_t offset) const {
    offset = std::min(offset, text_.size());
    const std::string_view before = text_.substr(0, offset);
    const size_t newline = before.find_last_of('\n');
    YAML::Mark mark;
    mark.pos = static_cast<int>(offset);
    mark.line = static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    mark.column =
        static_cast<int>(newline == std::string_view::npos ? offset : offset - newline - 1);
    return mark;
  }

 private:
  // A place in the text: characters after the byte order mark, and its byte offset.
  struct Cursor {
    size_t chars = 0;
    size_t bytes = 0;
  };

  // Moves C to character INDEX (back to the start first when INDEX is behind it);
  // returns its byte offset.
  size_t seek(Cursor& c, size_t index) const {
    if (index < c.chars) c = Cursor{0, start_};
    while (c.chars < index && c.bytes < text_.size()) {
      ++c.bytes;
      while (c.bytes < text_.size() &&
             (static_cast<unsigned char>(text_[c.bytes]) & 0xC0) == 0x80) {
        ++c.bytes;
      }
      ++c.chars;
    }
    return c.bytes;
  }

  std::string_view text_;
  size_t start_ = 0;
  bool ascii_ = true;
  Cursor at_;    // the last mark mapped
  Cursor line_;  // the start of its line
};

// A libyaml parser reading TEXT (which must outlive it).
struct LibyamlParser {
  yaml_parser_t p;

  explicit LibyamlParser(const std::string& text) {
    if (!yaml_parser_initialize(&p)) throw std::bad_alloc();
    yaml_parser_set_input_string(&p, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~LibyamlParser() { yaml_parser_delete(&p); }
  LibyamlParser(const LibyamlParser&) = delete;
  LibyamlParser& operator=(const LibyamlParser&) = delete;

  // Throws the parser's error as yaml-cpp would: YAML::ParserException with the
  // problem's place and libyaml's text ("did not find expected key (while parsing a
  // block mapping at line 3)"); std::bad_alloc when it ran out of memory.
  [[noreturn]] void fail(MarkMapper& marks) {
    if (p.error == YAML_MEMORY_ERROR) throw std::bad_alloc();
    std::string message = p.problem != nullptr ? p.problem : "invalid YAML";
    if (p.error == YAML_READER_ERROR) {
      // "invalid leading UTF-8 octet #xFF": the byte, at its offset.
      if (p.problem_value >= 0) message += fmt::format(" #x{:02X}", p.problem_value);
      throw YAML::ParserException(marks.at_byte(p.problem_offset), message);
    }
    // The construct the problem is in ("while parsing a flow sequence", "while
    // scanning a quoted scalar"), where it started: not the scanner's generic one.
    if (p.context != nullptr &&
        std::string_view(p.context) != "while scanning for the next token") {
      message += fmt::format(" ({} at line {})", p.context, p.context_mark.line + 1);
    }
    throw YAML::ParserException(marks(p.problem_mark), message);
  }
};

// An event, deleted with its owner once yaml_parser_parse() filled it.
struct LibyamlEvent {
  yaml_event_t e{};
  bool live = false;
  LibyamlEvent() = default;
  LibyamlEvent(const LibyamlEvent&) = delete;
  LibyamlEvent& operator=(const LibyamlEvent&) = delete;
  ~LibyamlEvent() {
    if (live) yaml_event_delete(&e);
  }
};

// `*NAME` of the alias at MARK in SOURCE (the Builder's events, yaml-cpp's EventHandler,
// carry anchor numbers only).
std::string alias_name(std::string_view source, const YAML::Mark& mark) {
  if (mark.pos < 0 || static_cast<size_t>(mark.pos) >= source.size() || source[mark.pos] != '*') {
    return "*?";
  }
  size_t end = static_cast<size_t>(mark.pos) + 1;
  while (end < source.size() && end - mark.pos <= 128 &&
         std::string_view(" \t\r\n,[]{}").find(source[end]) == std::string_view::npos) {
    ++end;
  }
  return std::string(source.substr(mark.pos, end - mark.pos));
}

// JSON string quoting (RFC 8259 section 7): quotes, backslashes and control bytes.
void append_quoted(std::string* out, const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  // Runs of bytes that need no escape are appended whole: a scalar aliased many times
  // is written out each time, so this loop sees up to kMaxCanonicalBytes per task.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x20 && u != '"' && u != '\\') continue;
    out->append(s, run, i - run);
    run = i + 1;
    if (u >= 0x20) {
      out->push_back('\\');
      out->push_back(s[i]);
    } else {
      out->append("\\u00");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    }
  }
  out->append(s, run, s.size() - run);
  out->push_back('"');
}

// The state of one canonical_text(): the full form, or the compact one.
struct Canonical {
  std::vector<YamlNode> open;  // collections being written, outermost first
  size_t budget = 0;           // full form: nodes left to write
  // Compact form: node id -> its ordinal in the order first written, 0 when not yet.
  std::vector<uint32_t>* written = nullptr;
  uint32_t next_ordinal = 1;
};

// Appends NODE's canonical form. The full form fails (false) past kMaxCanonicalNodes
// nodes or kMaxCanonicalBytes bytes: aliases of aliases grow exponentially ("billion
// laughs"). The compact form writes a node reached again through an alias as `*N`.
bool append_canonical(const YamlNode& node, Canonical* c, std::string* out) {
  if (c->written && node.IsDefined()) {
    std::vector<uint32_t>& written = *c->written;
    if (written.size() <= node.id()) written.resize(node.id() + 1, 0);
    if (written[node.id()] != 0) {
      out->append("*" + std::to_string(written[node.id()]));
      return true;
    }
    written[node.id()] = c->next_ordinal++;
  } else if (!c->written) {
    if (c->budget == 0 || out->size() > kMaxCanonicalBytes) return false;
    --c->budget;
  }
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      if (node.Tag() != "?") {
        out->push_back('!');
        if (node.Tag() != "!") out->append(node.Tag()).push_back(' ');
      }
      append_quoted(out, node.Scalar());
      return true;
    case YAML::NodeType::Sequence:
    case YAML::NodeType::Map: {
      // A collection that contains itself through an alias.
      for (const YamlNode& outer : c->open) {
        if (outer.is(node)) {
          out->push_back('*');
          return true;
        }
      }
      c->open.push_back(node);
      bool map = node.IsMap();
      if (node.Tag() != "?") out->append("!" + node.Tag() + " ");
      out->push_back(map ? '{' : '[');
      bool first = true;
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!first) out->append(", ");
        first = false;
        bool ok = map ? append_canonical(it->first, c, out) && (out->append(": "), true) &&
                            append_canonical(it->second, c, out)
                      : append_canonical(*it, c, out);
        if (!ok) return false;
      }
      out->push_back(map ? '}' : ']');
      c->open.pop_back();
      return true;
    }
    default:
      out->push_back('~');
      return true;
  }
}

}  // namespace

YAML::NodeType::value YamlNode::Type() const {
  if (!tree_) return YAML::NodeType::Undefined;
  return static_cast<YAML::NodeType::value>(tree_->nodes_[index_].type);
}

const std::string& YamlNode::Scalar() const {
  if (!IsScalar()) return kEmpty;
  return tree_->scalars_[tree_->nodes_[index_].value];
}

const std::string& YamlNode::Tag() const {
  if (!tree_) return kEmpty;
  return tree_->tags_[tree_->nodes_[index_].tag];
}

YAML::Mark YamlNode::Mark() const {
  if (!tree_) return YAML::Mark::null_mark();
  return tree_->nodes_[index_].mark;
}

size_t YamlNode::size() const {
  if (IsSequence()) return tree_->nodes_[index_].count;
  if (IsMap()) return tree_->nodes_[index_].count / 2;
  return 0;
}

YamlNode YamlNode::operator[](std::string_view key) const {
  if (!IsMap()) return {};
  const YamlTree::Node& n = tree_->nodes_[index_];
  for (uint32_t i = n.value; i < n.value + n.count; i += 2) {
    YamlNode k(tree_, tree_->children_[i]);
    if (k.IsScalar() && k.Scalar() == key) return YamlNode(tree_, tree_->children_[i + 1]);
  }
  return {};
}

YamlNode YamlNode::operator[](size_t index) const {
  if (!IsSequence() || index >= size()) return {};
  return YamlNode(tree_, tree_->children_[tree_->nodes_[index_].value + index]);
}

YamlNode::iterator YamlNode::begin() const {
  if (!IsSequence() && !IsMap()) return iterator(tree_, 0, 1);
  const YamlTree::Node& n = tree_->nodes_[index_];
  return iterator(tree_, n.value, IsMap() ? 2 : 1);
}

YamlNode::iterator YamlNode::end() const {
  if (!IsSequence() && !IsMap()) return iterator(tree_, 0, 1);
  const YamlTree::Node& n = tree_->nodes_[index_];
  return iterator(tree_, n.value + n.count, IsMap() ? 2 : 1);
}

YamlItem YamlNode::iterator::operator*() const {
  YamlItem item;
  if (step_ == 2) {
    item.first = YamlNode(tree_, tree_->children_[pos_]);
    item.second = YamlNode(tree_, tree_->children_[pos_ + 1]);
  } else {
    static_cast<YamlNode&>(item) = YamlNode(tree_, tree_->children_[pos_]);
  }
  return item;
}

YamlTree::YamlTree() {
  tags_ = {"", "?", "!"};
  nodes_.push_back(Node{YAML::Mark::null_mark()});  // the root of an empty document
}

YamlTree::YamlTree(YamlTree&&) noexcept = default;
YamlTree& YamlTree::operator=(YamlTree&&) noexcept = default;
YamlTree::~YamlTree() = default;

uint16_t YamlTree::intern_tag(const std::string& tag) {
  for (size_t i = 0; i < tags_.size(); ++i) {
    if (tags_[i] == tag) return static_cast<uint16_t>(i);
  }
  // More distinct tags than a uint16_t counts: the extra ones share the last slot.
  if (tags_.size() > UINT16_MAX) return UINT16_MAX;
  tags_.push_back(tag);
  return static_cast<uint16_t>(tags_.size() - 1);
}

YamlTree YamlTree::parse(const std::string& text, uint64_t max_alias_bytes) {
  Builder builder(text, max_alias_bytes);
  LibyamlParser parser(text);
  MarkMapper marks(text);
  // Anchors by name, numbered 1, 2, ... in the order they are defined (a name defined
  // again takes a new number: later aliases name the later node).
  std::unordered_map<std::string, YAML::anchor_t> anchors;
  YAML::anchor_t next_anchor = 0;
  auto anchor_of = [&](const yaml_char_t* name) -> YAML::anchor_t {
    if (name == nullptr) return YAML::NullAnchor;
    return anchors[reinterpret_cast<const char*>(name)] = ++next_anchor;
  };
  size_t depth = 0;  // collections open
  for (;;) {
    LibyamlEvent event;
    if (!yaml_parser_parse(&parser.p, &event.e)) parser.fail(marks);
    event.live = true;
    const yaml_event_t& e = event.e;
    const YAML::Mark mark = marks(e.start_mark);
    switch (e.type) {
      case YAML_STREAM_START_EVENT:
        continue;
      case YAML_DOCUMENT_START_EVENT:
        continue;
      case YAML_STREAM_END_EVENT:
      case YAML_DOCUMENT_END_EVENT:  // the first document only, as yaml-cpp's Load
        return builder.take();
      case YAML_ALIAS_EVENT: {
        auto found = anchors.find(reinterpret_cast<const char*>(e.data.alias.anchor));
        if (found == anchors.end()) {  // libyaml's parser leaves this to its loader
          throw YAML::ParserException(
              mark, fmt::format("alias *{} names no anchor defined before it",
                                reinterpret_cast<const char*>(e.data.alias.anchor)));
        }
        builder.OnAlias(mark, found->second);
        continue;
      }
      case YAML_SCALAR_EVENT: {
        if (depth >= kMaxYamlNesting) throw NestingLimitError(mark);
        const auto& sc = e.data.scalar;
        const std::string_view value(reinterpret_cast<const char*>(sc.value), sc.length);
        const YAML::anchor_t anchor = anchor_of(sc.anchor);
        if (sc.tag == nullptr && sc.style == YAML_PLAIN_SCALAR_STYLE && is_null_string(value)) {
          builder.OnNull(mark, anchor);
        } else {
          builder.OnScalar(mark, tag_of(sc.tag, sc.style != YAML_PLAIN_SCALAR_STYLE), anchor,
                           std::string(value));
        }
        continue;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (++depth > kMaxYamlNesting) throw NestingLimitError(mark);
        const bool sequence = e.type == YAML_SEQUENCE_START_EVENT;
        const yaml_char_t* tag = sequence ? e.data.sequence_start.tag : e.data.mapping_start.tag;
        const yaml_char_t* name =
            sequence ? e.data.sequence_start.anchor : e.data.mapping_start.anchor;
        const bool flow = sequence ? e.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE
                                   : e.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
        const auto style = flow ? YAML::EmitterStyle::Flow : YAML::EmitterStyle::Block;
        if (sequence) {
          builder.OnSequenceStart(mark, tag_of(tag, false), anchor_of(name), style);
        } else {
          builder.OnMapStart(mark, tag_of(tag, false), anchor_of(name), style);
        }
        continue;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        --depth;
        if (e.type == YAML_SEQUENCE_END_EVENT) {
          builder.OnSequenceEnd();
        } else {
          builder.OnMapEnd();
        }
        continue;
      default:
        continue;
    }
  }
}

YamlTree::Builder::Builder() : tree_(std::make_unique<YamlTree>()) {}
YamlTree::Builder::Builder(std::string_view source, uint64_t max_alias_bytes) : Builder() {
  source_ = source;
  max_alias_bytes_ = max_alias_bytes;
}
YamlTree::Builder::~Builder() = default;

uint32_t YamlTree::Builder::add(YAML::NodeType::value type, const YAML::Mark& mark,
                                const std::string& tag, YAML::anchor_t anchor) {
  if (!has_root_) {
    // The first node replaces the placeholder root of an empty document.
    tree_->nodes_.clear();
    expanded_.clear();
    has_root_ = true;
  }
  Node node;
  node.mark = mark;
  node.type = static_cast<uint8_t>(type);
  node.tag = tag.empty() ? 0 : tag == "?" ? 1 : tag == "!" ? 2 : tree_->intern_tag(tag);
  auto index = static_cast<uint32_t>(tree_->nodes_.size());
  tree_->nodes_.push_back(node);
  expanded_.push_back(1);
  if (anchor != YAML::NullAnchor) {
    // yaml-cpp numbers anchors 1, 2, ... in the order they are defined.
    if (anchors_.size() < anchor) anchors_.resize(anchor);
    anchors_[anchor - 1] = index;
  }
  return index;
}

void YamlTree::Builder::attach(uint32_t index) {
  if (!open_.empty()) pending_[open_.size() - 1].push_back(index);
}

void YamlTree::Builder::OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) {
  attach(add(YAML::NodeType::Null, mark, "", anchor));
}

void YamlTree::Builder::OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) {
  // The parser refuses an alias whose anchor is not defined before it.
  if (anchor == YAML::NullAnchor || anchor > anchors_.size()) {
    OnNull(mark, YAML::NullAnchor);
    return;
  }
  const uint32_t anchored = anchors_[anchor - 1];
  // A collection still open (an alias of itself) counts one so far.
  aliased_bytes_ = saturated_add(aliased_bytes_, expanded_[anchored]);
  if (aliased_bytes_ > max_alias_bytes_) {
    throw AliasLimitError(mark, "alias " + alias_name(source_, mark) + " stands for " +
                                    std::to_string(expanded_[anchored]) +
                                    " bytes; with the aliases before it the file would " +
                                    "materialize more than " + std::to_string(max_alias_bytes_) +
                                    " bytes through aliases (the limit)");
  }
  attach(anchored);
}

void YamlTree::Builder::OnScalar(const YAML::Mark& mark, const std::string& tag,
                                 YAML::anchor_t anchor, const std::string& value) {
  uint32_t index = add(YAML::NodeType::Scalar, mark, tag, anchor);
  tree_->nodes_[index].value = static_cast<uint32_t>(tree_->scalars_.size());
  tree_->scalars_.push_back(value);
  expanded_[index] = saturated_add(value.size(), 1);
  attach(index);
}

void YamlTree::Builder::start_collection(YAML::NodeType::value type, const YAML::Mark& mark,
                                         const std::string& tag, YAML::anchor_t anchor) {
  uint32_t index = add(type, mark, tag, anchor);
  attach(index);
  open_.push_back(index);
  // The child lists of collections closed at this depth are reused: no allocation
  // per collection once the deepest level has been reached.
  if (pending_.size() < open_.size()) pending_.emplace_back();
  pending_[open_.size() - 1].clear();
}

void YamlTree::Builder::end_collection() {
  if (open_.empty()) return;
  Node& node = tree_->nodes_[open_.back()];
  std::vector<uint32_t>& children = pending_[open_.size() - 1];
  node.value = static_cast<uint32_t>(tree_->children_.size());
  node.count = static_cast<uint32_t>(children.size());
  uint64_t expanded = 1;
  for (uint32_t child : children) expanded = saturated_add(expanded, expanded_[child]);
  expanded_[open_.back()] = expanded;
  tree_->children_.insert(tree_->children_.end(), children.begin(), children.end());
  open_.pop_back();
}

void YamlTree::Builder::OnSequenceStart(const YAML::Mark& mark, const std::string& tag,
                                        YAML::anchor_t anchor, YAML::EmitterStyle::value) {
  start_collection(YAML::NodeType::Sequence, mark, tag, anchor);
}

void YamlTree::Builder::OnSequenceEnd() { end_collection(); }

void YamlTree::Builder::OnMapStart(const YAML::Mark& mark, const std::string& tag,
                                   YAML::anchor_t anchor, YAML::EmitterStyle::value) {
  start_collection(YAML::NodeType::Map, mark, tag, anchor);
}

void YamlTree::Builder::OnMapEnd() { end_collection(); }

YamlTree YamlTree::Builder::take() {
  while (!open_.empty()) end_collection();
  YamlTree tree = std::move(*tree_);
  tree.root_ = 0;
  tree.nodes_.shrink_to_fit();
  tree.children_.shrink_to_fit();
  tree.scalars_.shrink_to_fit();
  tree_ = std::make_unique<YamlTree>();
  anchors_.clear();
  pending_.clear();
  expanded_.clear();
  aliased_bytes_ = 0;
  has_root_ = false;
  return tree;
}

std::string canonical_text(const YamlNode& node) {
  std::string out;
  Canonical full;
  full.budget = kMaxCanonicalNodes;
  if (append_canonical(node, &full, &out)) return out;
  out = "!compact ";
  std::vector<uint32_t> written;
  Canonical compact;
  compact.written = &written;
  append_canonical(node, &compact, &out);
  return out;
}

}  // namespace baton::workflow
