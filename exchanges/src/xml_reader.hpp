// A small event reader over expat for the exchanges' XML answers (hostile input): namespaces
// stripped to local names, no DOCTYPE (so no entity beyond the five predefined ones, no
// external fetch), nesting and text bounded. The caller's handler sees each element's start
// (with its attributes) and end (with the text directly inside it).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hashguard::exchanges::detail {

struct xml_element {
  std::string_view name;  ///< local name (namespace dropped)
  std::size_t depth{};    ///< 1 for the root
  std::vector<std::pair<std::string_view, std::string_view>> attributes;
  [[nodiscard]] std::string_view attribute(std::string_view attr) const noexcept {
    for (const auto& [k, v] : attributes) {
      if (k == attr) return v;
    }
    return {};
  }
};

struct xml_handler {
  /// Return false to refuse the document.
  std::function<bool(const xml_element&)> start;
  /// `text` is the character data directly inside the element (child elements' text excluded).
  std::function<bool(std::string_view name, std::size_t depth, std::string_view text)> end;
};

struct xml_limits {
  std::size_t max_depth{32};
  std::size_t max_text_bytes{64 * 1024};  ///< per element
};

/// Reads `xml` through `h`; false when it is not well-formed, has a DOCTYPE, exceeds the limits
/// or a handler refused it.
[[nodiscard]] bool read_xml(std::string_view xml, const xml_handler& h,
                            const xml_limits& limits = {});

}  // namespace hashguard::exchanges::detail
