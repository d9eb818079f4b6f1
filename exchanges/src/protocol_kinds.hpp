// The registry's constructors for the protocol kinds (ncmec, stopncii, threatexchange, hashguard):
// each reads its settings struct from an exchange's configuration (`setting.*` keys, `url` as the
// base URL when setting.base_url is absent, the credential) and builds the source.
//
// Errors: errc::bad_config, with `problem` naming the key at fault ("setting.page_size: ...",
// "credential_file or credential_env: ..."); a credential never appears in it.
#pragma once

#include "hashguard/exchanges/registry.hpp"

#include <memory>
#include <string>

namespace hashguard::exchanges::detail {

[[nodiscard]] core::result<std::unique_ptr<source>> make_ncmec_kind(const exchange_config& config,
                                                                    std::string& problem);
[[nodiscard]] core::result<std::unique_ptr<source>> make_stopncii_kind(
    const exchange_config& config, std::string& problem);
[[nodiscard]] core::result<std::unique_ptr<source>> make_threatexchange_kind(
    const exchange_config& config, std::string& problem);
[[nodiscard]] core::result<std::unique_ptr<source>> make_hashguard_kind(
    const exchange_config& config, std::string& problem);

}  // namespace hashguard::exchanges::detail
