// A parsed YAML document as one compact tree, read with libyaml's event parser.
//
// yaml-cpp's YAML::Load builds a graph of reference-counted nodes (a node, its
// reference, its data, a shared memory holder, a map as a vector of pairs plus a list
// of undefined pairs) of about 250 bytes each, and tears it down node by node. For a
// workflow of 100,000 tasks that graph peaked at 600 MB and its allocation and
// destruction cost a quarter of the load (bench/RESULTS.md, "Validation").
// YamlTree keeps the same document in a few flat arrays (32 bytes a node, plus each
// scalar's string). It is filled from libyaml's parser events (yaml_parser_parse(),
// Debian's libyaml: 5x faster than yaml-cpp's own parser, which took 70% of loading a
// 10,000-task workflow: bench/RESULTS.md (15)), translated into yaml-cpp's terms: its
// node types, its tags ("?" plain, "!" quoted), its null forms, its marks (bytes, not
// characters) and its exception types, so the reader reads as it would with yaml-cpp.
// What differs: the error texts are libyaml's, and an empty value's mark is where the
// value would be (after its "key:"), not at the next token as yaml-cpp had it.
//
// YamlNode is a handle into a tree with the part of YAML::Node's interface that the
// loader reads (same names, same results). Handles are valid while their tree lives; a
// tree is immutable once built. Not thread-safe to build; safe to read from several
// threads once built.
#pragma once

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/node/type.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace baton::workflow {

class YamlTree;

/// A node of a YamlTree, or an undefined node (a key that is not there). Cheap to copy.
/// Like YAML::Node, except that an undefined node answers every question (false, empty,
/// null mark) where yaml-cpp would throw InvalidNode.
class YamlNode {
 public:
  class iterator;

  /// An undefined node.
  YamlNode() = default;

  /// false for an undefined node (a missing key), true otherwise (also for null).
  bool IsDefined() const { return tree_ != nullptr; }
  explicit operator bool() const { return IsDefined(); }
  /// kUndefined, Null, Scalar, Sequence or Map, as yaml-cpp.
  YAML::NodeType::value Type() const;
  bool IsNull() const { return Type() == YAML::NodeType::Null; }
  bool IsScalar() const { return Type() == YAML::NodeType::Scalar; }
  bool IsSequence() const { return Type() == YAML::NodeType::Sequence; }
  bool IsMap() const { return Type() == YAML::NodeType::Map; }
  /// A scalar's value as parsed (escapes resolved, lines folded); "" for any other node.
  const std::string& Scalar() const;
  /// The node's tag as yaml-cpp reports it: "?" for a plain scalar or a collection
  /// without a tag, "!" for a quoted or block scalar, the resolved tag when one is
  /// written ("tag:yaml.org,2002:str" for !!str), "" for null and undefined nodes.
  const std::string& Tag() const;
  /// Where the node starts (0-based line and column, byte position); for an alias,
  /// the anchored node's place; YAML::Mark::null_mark() when unknown.
  YAML::Mark Mark() const;
  /// Whether both handles refer to the same node (an alias and its anchor do).
  bool is(const YamlNode& other) const { return tree_ == other.tree_ && index_ == other.index_; }
  /// A number that identifies the node within its tree (an alias and its anchor have the
  /// same): below the tree's node count.
  uint32_t id() const { return index_; }
  /// Items of a sequence, entries of a map (duplicate keys included); 0 otherwise.
  size_t size() const;
  /// The value of the first entry of a map whose key is the scalar KEY; undefined when
  /// there is none or this is not a map.
  YamlNode operator[](std::string_view key) const;
  YamlNode operator[](const char* key) const { return (*this)[std::string_view(key)]; }
  YamlNode operator[](const std::string& key) const { return (*this)[std::string_view(key)]; }
  /// Element INDEX of a sequence; undefined past the end or when this is not one.
  YamlNode operator[](size_t index) const;
  YamlNode operator[](int index) const {
    return index < 0 ? YamlNode() : (*this)[static_cast<size_t>(index)];
  }
  /// Sequences: one item per element (the item is the element). Maps: one item per
  /// entry, in file order, with `first` the key and `second` the value. Scalars and
  /// null: empty.
  iterator begin() const;
  iterator end() const;

 private:
  friend class YamlTree;
  YamlNode(const YamlTree* tree, uint32_t index) : tree_(tree), index_(index) {}

  const YamlTree* tree_ = nullptr;
  uint32_t index_ = 0;
};

/// One step of an iteration: the element (sequences) or the entry (maps, as
/// first/second), as yaml-cpp's iterator_value.
struct YamlItem : YamlNode {
  YamlNode first;   ///< a map entry's key; undefined for a sequence's element
  YamlNode second;  ///< a map entry's value; undefined for a sequence's element
};

/// Forward iterator over a node's children (see YamlNode::begin()).
class YamlNode::iterator {
 public:
  /// So that `it->first` works on a value returned by operator*.
  struct Arrow {
    YamlItem item;
    const YamlItem* operator->() const { return &item; }
  };
  YamlItem operator*() const;
  Arrow operator->() const { return {**this}; }
  iterator& operator++() {
    pos_ += step_;
    return *this;
  }
  bool operator==(const iterator& other) const { return pos_ == other.pos_; }
  bool operator!=(const iterator& other) const { return pos_ != other.pos_; }

 private:
  friend class YamlNode;
  iterator(const YamlTree* tree, uint32_t pos, uint32_t step)
      : tree_(tree), pos_(pos), step_(step) {}
  const YamlTree* tree_;
  uint32_t pos_;   // index into the tree's child list
  uint32_t step_;  // 1 for a sequence, 2 (key, value) for a map
};

/// The most bytes a document may materialize through aliases (YamlTree::Builder): 16 MiB,
/// whatever the file's size. A workflow that aliases a long prompt a few times stays far
/// below; 200 aliases of a 2 MB scalar (400 MB once read) are refused at the 9th alias.
inline constexpr uint64_t kMaxAliasBytes = 16u << 20;

/// Thrown by YamlTree::Builder at the alias that takes the bytes materialized through
/// aliases past kMaxAliasBytes; `mark` is the alias's place, `msg` the whole message
/// ("alias *big stands for 2000007 bytes; ...").
class AliasLimitError : public YAML::ParserException {
 public:
  AliasLimitError(const YAML::Mark& mark, const std::string& message)
      : YAML::ParserException(mark, message) {}
};

/// The most collections a node may be nested in (yaml-cpp's limit, which the loader's
/// message names).
inline constexpr size_t kMaxYamlNesting = 2000;

/// Thrown by YamlTree::parse at the node nested in more than kMaxYamlNesting
/// collections; `mark` is that node's place.
class NestingLimitError : public YAML::ParserException {
 public:
  explicit NestingLimitError(const YAML::Mark& mark)
      : YAML::ParserException(mark, "nesting is too deep (the limit is " +
                                        std::to_string(kMaxYamlNesting) + " levels)") {}
};

/// A YAML document (the first of a stream), owned as a whole.
class YamlTree {
 public:
  /// Parses the first document of TEXT (UTF-8; UTF-16 with a byte order mark is
  /// read too, its marks then approximate) with libyaml. An empty stream (or only
  /// comments) gives a null root with an unknown mark, as YAML::Load. Throws
  /// YAML::ParserException (with the problem's mark and libyaml's text, plus the
  /// construct it was in: "did not find expected key (while parsing a block mapping at
  /// line 3)") for invalid YAML and for an alias of an anchor not defined before it;
  /// NestingLimitError past kMaxYamlNesting levels; std::bad_alloc; and
  /// AliasLimitError at the alias that takes the bytes materialized through aliases
  /// past MAX_ALIAS_BYTES (see Builder).
  static YamlTree parse(const std::string& text, uint64_t max_alias_bytes = kMaxAliasBytes);

  YamlTree();
  YamlTree(YamlTree&&) noexcept;
  YamlTree& operator=(YamlTree&&) noexcept;
  ~YamlTree();

  /// The document's root; a null node for an empty document.
  YamlNode root() const { return YamlNode(this, root_); }

  /// Builds a tree from events, as yaml-cpp's NodeBuilder does (anchors and aliases
  /// included: an alias is the anchored node itself, so a tree may share or even
  /// contain itself, as with yaml-cpp). Used by parse() and to build a tree from
  /// another source (a JSON value); call the handler's methods in document order,
  /// then take() the tree. Marks of built nodes are what the caller passes.
  ///
  /// Aliases are counted: each alias adds its anchored node's expanded size (the bytes
  /// of every scalar in it, aliases within written out, plus one per node) to the
  /// bytes the document materializes through aliases; past the limit, OnAlias
  /// throws AliasLimitError at the alias. A small file can otherwise stand for
  /// gigabytes of values once each alias is read as its own copy.
  class Builder : public YAML::EventHandler {
   public:
    Builder();
    /// SOURCE (the text being parsed, outliving the builder) names the aliases in
    /// AliasLimitError; without it they are called `*?`.
    explicit Builder(std::string_view source, uint64_t max_alias_bytes = kMaxAliasBytes);
    ~Builder() override;
    void OnDocumentStart(const YAML::Mark& mark) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override;
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override;
    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  const std::string& value) override;
    void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value style) override;
    void OnSequenceEnd() override;
    void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value style) override;
    void OnMapEnd() override;
    /// The tree built so far (its root is the first node started). The builder is
    /// empty afterwards.
    YamlTree take();

   private:
    uint32_t add(YAML::NodeType::value type, const YAML::Mark& mark, const std::string& tag,
                 YAML::anchor_t anchor);
    void attach(uint32_t index);
    void start_collection(YAML::NodeType::value type, const YAML::Mark& mark,
                          const std::string& tag, YAML::anchor_t anchor);
    void end_collection();

    std::unique_ptr<YamlTree> tree_;
    std::vector<uint32_t> open_;                  // collections being built, outermost first
    std::vector<std::vector<uint32_t>> pending_;  // children of each open collection
    std::vector<uint32_t> anchors_;               // anchor id - 1 -> node
    bool has_root_ = false;
    std::string_view source_;
    std::vector<uint64_t> expanded_;  // node -> bytes it stands for (see above), saturated
    uint64_t aliased_bytes_ = 0;      // bytes materialized through aliases so far
    uint64_t max_alias_bytes_ = kMaxAliasBytes;
  };

 private:
  friend class YamlNode;
  friend class YamlNode::iterator;

  struct Node {
    YAML::Mark mark;
    uint32_t value = 0;  // scalars: index in scalars_; collections: first child in children_
    uint32_t count = 0;  // collections: number of children (2 per map entry)
    uint16_t tag = 0;    // index in tags_
    uint8_t type = YAML::NodeType::Null;
  };

  uint16_t intern_tag(const std::string& tag);

  std::vector<Node> nodes_;
  std::vector<uint32_t> children_;  // each collection's children, contiguous
  std::vector<std::string> scalars_;
  std::vector<std::string> tags_;  // 0: "", 1: "?", 2: "!", then others as they come
  uint32_t root_ = 0;
};

/// A canonical text of NODE for hashing: the same for the same YAML content whatever
/// its layout and comments (flow style, keys in file order, scalars JSON-quoted with
/// their tag when it is not "?": `{"id": "a", "run": ["true", !"x"]}`). Aliases are
/// written out in full; a node that contains itself is written once, then `*`.
/// Written out in full, aliases of aliases grow exponentially ("billion laughs": ten
/// levels of ten aliases are 10^10 nodes); past kMaxCanonicalNodes nodes or
/// kMaxCanonicalBytes bytes the text is instead `!compact ` followed by a form where a
/// node reached again through an alias is written as `*N` (N: the 1-based order in which
/// nodes were first written), linear in the document's size. So the text is the same for
/// the same content whatever its layout up to that size, and bounded beyond it.
std::string canonical_text(const YamlNode& node);

/// The most nodes and bytes canonical_text() writes out in full.
inline constexpr size_t kMaxCanonicalNodes = 1000000;
inline constexpr size_t kMaxCanonicalBytes = 64u << 20;

}  // namespace baton::workflow
