// matcher's error codes.
#pragma once

#include "hashguard/core/error.hpp"

namespace hashguard::matcher {

enum class errc {
  unknown_kernel = 1,  ///< HG_FORCE_KERNEL (or a name given to select_kernel) names no kernel
  unsupported_kernel,  ///< the named kernel exists but this CPU (or OS) cannot run it
  unknown_list,        ///< an entry refers to a list id that was never added
  duplicate_list,      ///< a list id added twice to one snapshot
  wrong_signal,        ///< an entry's value does not fit its list's signal
  bad_threshold,       ///< a threshold outside 0..256 (pdq) / 0..64 (phash)
  bad_radius,          ///< a search radius below 0
  bad_image,  ///< a snapshot image (snapshot_file.hpp) that is inconsistent or was made otherwise
};

const core::named_category& matcher_category() noexcept;
HG_DECLARE_ERRC(errc, matcher_category)

}  // namespace hashguard::matcher

HG_REGISTER_ERRC(hashguard::matcher::errc)
