// libFuzzer's driver entry point (compiler-rt). SwiftPM links executables with main aliased to
// EWSFuzz_main, so libFuzzer's own main is not used; EWSFuzz_main calls this instead.
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
