// Every test class here opens ILGPU contexts (the ilgpu-cpu fixture, device listing, code generation, auto
// selection). Repeated full runs failed about once in a dozen with a wrong ilgpu-cpu result (a masked median read 0)
// that never replayed alone; the common factor was several contexts working at once in one process. So the
// classes run one after another.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
