// The Prometheus text exposition format, version 0.0.4: the lines GET /metrics
// answers. Source: https://prometheus.io/docs/instrumenting/exposition_formats/
// ("Text-based format"): `# HELP name text`, `# TYPE name type`, then samples
// `name{label="value",...} value`, a histogram as its `_bucket{le=...}` (cumulative,
// ending with le="+Inf"), `_sum` and `_count` samples.
//
// This file knows the syntax only; which metrics baton exposes is serve/metrics.h.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace baton::serve {

/// The Content-Type of the text format.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

/// One label: name (a Prometheus label name, [a-zA-Z_][a-zA-Z0-9_]*, given by baton's
/// code) and value (any text: escaped here).
using Label = std::pair<std::string_view, std::string>;

/// Builds an exposition, one metric family at a time. Families must be started with
/// family() before their samples, and each name used once (the format's rule).
class ExpositionWriter {
 public:
  /// Starts the family NAME of TYPE ("counter", "gauge", "histogram") with HELP
  /// (escaped: backslash and line feed).
  void family(std::string_view name, std::string_view type, std::string_view help);
  /// One sample `NAME{LABELS} VALUE`; NAME includes any suffix (`_total`, `_bucket`).
  void sample(std::string_view name, std::span<const Label> labels, double value);
  void sample(std::string_view name, double value) { sample(name, {}, value); }
  /// The samples of one histogram of the family NAME: for each i, `NAME_bucket` with
  /// LABELS plus le=BOUNDS[i] and the cumulative count CUMULATIVE[i], then le="+Inf"
  /// with COUNT, `NAME_sum` (SUM) and `NAME_count` (COUNT). BOUNDS ascending, the same
  /// size as CUMULATIVE.
  void histogram(std::string_view name, std::span<const Label> labels,
                 std::span<const double> bounds, std::span<const double> cumulative, double count,
                 double sum);

  /// The text so far; each line ends with "\n".
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

/// A value as the format writes it: Go's float syntax, "+Inf", "-Inf", "NaN";
/// integers without a fraction ("3"), others in the shortest form that reads back
/// exactly ("0.25", "1.7964e+09").
std::string format_value(double value);

/// A label value escaped for the format: backslash, double quote and line feed as
/// `\\`, `\"`, `\n`; bytes that are not valid UTF-8 become U+FFFD (values must be UTF-8).
std::string escape_label_value(std::string_view value);

}  // namespace baton::serve
