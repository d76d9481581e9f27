#include "appliance/pipeline/destination.h"

namespace appliance::pipeline {

const char* DispositionName(Disposition d) {
  switch (d) {
    case Disposition::kDelivered:
      return "delivered";
    case Disposition::kRetry:
      return "retry";
    case Disposition::kPermanent:
      return "permanent";
  }
  return "unknown";
}

}  // namespace appliance::pipeline
