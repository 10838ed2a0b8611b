// Every test class here opens ILGPU contexts (the ilgpu-cpu fixture, device listing, code generation, auto
// selection), each with its own worker threads on a 2-core machine, so the classes run one after another. The
// wrong ilgpu-cpu results once blamed on contexts running at once (a masked median read 0, never replayed alone)
// were device copies of unpinned arrays that a garbage collection moved: see Copy and HostCopyTests.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
