// Header-only target: declares LLVMFuzzerRunDriver for Swift.
