//===- Target.cpp - what LLVM knows about x86-64 CPUs ---------------------===//
//
// The driver turns `--strata-target=NAME[,+feat,-feat]` into an explicit
// `Target`; only LLVM knows which features a CPU name implies and what the
// host has, and neither is reachable through LLVM's C API for a CPU other
// than the host's. These hooks answer exactly those two questions.
//
//===----------------------------------------------------------------------===//

#include "strata/strata-c.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <memory>
#include <string>

namespace {
const char *kTriple = "x86_64-unknown-linux-gnu";

std::unique_ptr<llvm::MCSubtargetInfo> subtarget(llvm::StringRef cpu,
                                                 llvm::StringRef features) {
  strataInitializeNativeTarget();
  std::string error;
  llvm::Triple triple(kTriple);
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  return std::unique_ptr<llvm::MCSubtargetInfo>(
      target->createMCSubtargetInfo(triple, cpu, features));
}

void send(MlirStringCallback callback, void *userData, llvm::StringRef s) {
  callback(MlirStringRef{s.data(), s.size()}, userData);
}
} // namespace

void strataInitializeNativeTarget() {
  // Two tests compiling at once registered the target twice at the same
  // time, and one lookup found no x86-64 target. A function-local static
  // is initialized once, and other callers wait for it.
  static const bool registered = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    return true;
  }();
  (void)registered;
}

void strataHostCpu(MlirStringCallback callback, void *userData) {
  send(callback, userData, llvm::sys::getHostCPUName());
}

void strataHostFeatures(MlirStringCallback callback, void *userData) {
  std::string out;
  for (const auto &f : llvm::sys::getHostCPUFeatures()) {
    if (!out.empty())
      out += ',';
    out += (f.second ? '+' : '-');
    out += f.first().str();
  }
  send(callback, userData, out);
}

int strataCpuFeatures(MlirStringRef cpu, MlirStringRef overrides,
                      MlirStringCallback callback, void *userData) {
  llvm::StringRef cpuName(cpu.data, cpu.length);
  llvm::StringRef given(overrides.data, overrides.length);
  // Validate before creating the subtarget: LLVM only warns on stderr about
  // unknown CPUs and features and carries on with a generic one.
  std::unique_ptr<llvm::MCSubtargetInfo> probe = subtarget("", "");
  if (!probe)
    return -1;
  if (!probe->isCPUStringValid(cpuName))
    return 1;
  llvm::SmallVector<llvm::StringRef> parts;
  given.split(parts, ',', -1, false);
  for (llvm::StringRef p : parts) {
    llvm::StringRef name = p.drop_front();
    bool known = false;
    for (const llvm::SubtargetFeatureKV &kv : probe->getAllProcessorFeatures())
      known |= name == kv.Key;
    if ((!p.starts_with("+") && !p.starts_with("-")) || !known)
      return 2;
  }
  std::unique_ptr<llvm::MCSubtargetInfo> sti = subtarget(cpuName, given);
  std::string out;
  for (const llvm::SubtargetFeatureKV &kv : sti->getAllProcessorFeatures()) {
    if (!out.empty())
      out += ',';
    bool on = sti->checkFeatures(std::string("+") + kv.Key);
    out += (on ? '+' : '-');
    out += kv.Key;
  }
  send(callback, userData, out);
  return 0;
}
