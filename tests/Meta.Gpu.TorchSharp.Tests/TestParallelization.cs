using Xunit.Sdk;
using Xunit.v3;

// libtorch's random generator is one per process. The sine network draws its init from a generator of its own
// (SineRegressorInitTests), but many classes here build a model with `manual_seed(s)` and a module's constructor,
// and expect the weights of that seed: a class running beside them that seeds or builds a module in between draws
// from the same stream (SineDivergedDomainTests failed 3 times in 27 full runs on a loaded 2-core machine that way,
// before the sine network had its own generator). The classes run one at a time.
[assembly: Parallelization(Mode = ParallelMode.None)]
