#include "runtime/periodic_chore.h"

namespace fleet::runtime {

bool PeriodicChore::run_if_due(Clock::SteadyTime now, const std::function<void()>& chore) {
  if (!due(now)) return false;
  try {
    chore();
  } catch (...) {
    failed(now);
    throw;
  }
  succeeded(now);
  return true;
}

}  // namespace fleet::runtime
