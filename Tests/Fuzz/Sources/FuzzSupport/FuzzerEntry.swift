/// Starting libFuzzer from a SwiftPM executable.
///
/// SwiftPM links every executable with `--defsym main=<Module>_main` (so that tests can import executables), and
/// `-parse-as-library` (needed so that no Swift `main` competes with libFuzzer's) emits no `<Module>_main`: the link
/// fails (swiftlang/swift-package-manager#8731). Each harness therefore defines `<Module>_main` itself with
/// `@_cdecl` and hands over to libFuzzer's documented driver entry point, `LLVMFuzzerRunDriver`, with its
/// `LLVMFuzzerTestOneInput`. Built with plain `swiftc -sanitize=fuzzer,address -parse-as-library`, libFuzzer's own
/// `main` is used instead and calls the `@_cdecl("LLVMFuzzerTestOneInput")` function directly.

/// A harness's per-input function, C calling convention.
public typealias FuzzTestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Runs libFuzzer with the process arguments and `testOneInput`; returns its exit status.
public func runLibFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ testOneInput: FuzzTestOneInput
) -> CInt {
    var argc = argc
    var argv = argv
    return llvmFuzzerRunDriver(&argc, &argv, testOneInput)
}

/// `int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size))` from
/// libclang_rt.fuzzer (linked by `-sanitize=fuzzer`). All arguments are pointers, passed in the same registers by
/// the Swift and C conventions on x86-64 and arm64.
@_silgen_name("LLVMFuzzerRunDriver")
private func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: FuzzTestOneInput
) -> CInt
