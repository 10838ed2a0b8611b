namespace Meta.Gpu.Kernels.Tests;

/// <summary>
/// The PTX rewrite that keeps ptxas from fusing a product into a sum: every plain floating-point add, subtract and
/// multiply gets round-to-nearest, and nothing else changes.
/// </summary>
public sealed class RoundedPtxTests
{
    [Theory]
    [InlineData("\tmul.f64\t%fd3, %fd1, %fd2;", "\tmul.rn.f64\t%fd3, %fd1, %fd2;")]
    [InlineData("\tadd.f64\t%fd4, %fd3, %fd0;", "\tadd.rn.f64\t%fd4, %fd3, %fd0;")]
    [InlineData("\tsub.f64\t%fd5, %fd4, %fd0;", "\tsub.rn.f64\t%fd5, %fd4, %fd0;")]
    [InlineData("\tadd.f32\t%f2, %f1, %f1;", "\tadd.rn.f32\t%f2, %f1, %f1;")]
    [InlineData("\tmul.f32\t%f2, %f1, %f1;", "\tmul.rn.f32\t%f2, %f1, %f1;")]
    [InlineData("@%p1 add.f64 %fd1, %fd1, %fd2;", "@%p1 add.rn.f64 %fd1, %fd1, %fd2;")]
    public void A_plain_floating_point_operation_is_rounded_to_nearest(string line, string expected) =>
        Assert.Equal(expected, RoundedPtx.RoundEachOperation(line));

    [Theory]
    [InlineData("\tmul.rn.f64\t%fd3, %fd1, %fd2;")]
    [InlineData("\tadd.ftz.f32\t%f2, %f1, %f1;")]
    [InlineData("\tfma.rn.f64\t%fd3, %fd1, %fd2, %fd0;")]
    [InlineData("\tdiv.rn.f64\t%fd3, %fd1, %fd2;")]
    [InlineData("\tmul.lo.s32\t%r3, %r1, %r2;")]
    [InlineData("\tadd.s64\t%rd3, %rd1, %rd2;")]
    [InlineData("\tmul.wide.s32\t%rd3, %r1, 4;")]
    [InlineData("\tmin.f32\t%f3, %f1, %f2;")]
    [InlineData("\tmov.f64\t%fd1, 0d0000000000000000;")]
    public void Other_instructions_are_left_as_they_are(string line)
    {
        Assert.Equal(line, RoundedPtx.RoundEachOperation(line));
        Assert.True(RoundedPtx.HasNoFusableOperation(line));
    }

    [Fact]
    public void A_module_keeps_its_lines_and_loses_every_fusable_pair()
    {
        const string ptx = ".version 8.0\n.target sm_80\n.visible .entry Kernel_Run()\n{\n\tmul.f64\t%fd3, %fd1, %fd2;\n\tadd.f64\t%fd4, %fd0, %fd3;\n\tret;\n}\n";

        var rounded = RoundedPtx.RoundEachOperation(ptx);

        Assert.False(RoundedPtx.HasNoFusableOperation(ptx));
        Assert.True(RoundedPtx.HasNoFusableOperation(rounded));
        Assert.Equal(ptx.Replace("mul.f64", "mul.rn.f64", StringComparison.Ordinal).Replace("add.f64", "add.rn.f64", StringComparison.Ordinal), rounded);
    }
}
