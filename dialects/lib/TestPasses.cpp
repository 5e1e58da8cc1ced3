//===- TestPasses.cpp - upstream MLIR's test passes, as mlir-opt has them --===//
//
// mlir-opt registers the passes of upstream's test libraries (`-test-*`),
// and upstream's CPU integration tests run them: `-test-lower-to-llvm`
// above all. Debian's libmlir-22-dev ships those libraries as static
// archives (libMLIRLLVMTestPasses.a, ...), which mlir-sys already puts on
// the link line; naming a registration function here is what pulls its
// objects in. Only the passes on CPU code of the dialects the integration
// tests cover are registered: the GPU, SPIR-V, OpenACC and test-dialect
// ones would link much more for nothing a CPU test uses.
//
//===----------------------------------------------------------------------===//

#include "strata/strata-c.h"

namespace mlir {
void registerTestAffineAccessAnalysisPass();
void registerTestAffineDataCopyPass();
void registerTestAffineLoopUnswitchingPass();
void registerTestAffineReifyValueBoundsPass();
void registerTestDecomposeAffineOpPass();
void registerTestLoopPermutationPass();
void registerVectorizerTestPass();
void registerLoopLikeInterfaceTestPasses();
namespace test {
void registerTestAffineLoopParametricTilingPass();
void registerTestLoopFusion();
void registerTestLoopMappingPass();
void registerTestArithEmulateWideIntPass();
void registerTestOneShotModuleBufferizePass();
void registerTestTensorCopyInsertionPass();
void registerTestCfAssertPass();
void registerTestLLVMLegalizePatternsPass();
void registerTestLowerToLLVM();
void registerTestDataLayoutPropagation();
void registerTestLinalgDecomposeOps();
void registerTestLinalgDropUnitDims();
void registerTestLinalgElementwiseFusion();
void registerTestLinalgGreedyFusion();
void registerTestLinalgRankReduceContractionOps();
void registerTestLinalgTransforms();
void registerTestPadFusion();
void registerTestMathAlgebraicSimplificationPass();
void registerTestMathPolynomialApproximationPass();
void registerTestComposeSubView();
void registerTestEmulateNarrowTypePass();
void registerTestMultiBuffering();
void registerSimpleParametricTilingPass();
void registerTestLoopUnrollingPass();
void registerTestParallelLoopUnrollingPass();
void registerTestSCFUpliftWhileToFor();
void registerTestSCFUtilsPass();
void registerTestSCFWhileOpBuilderPass();
void registerTestSCFWrapInZeroTripCheckPasses();
void registerTestTensorTransforms();
void registerConvertCallOpPass();
void registerConvertFuncOpPass();
void registerTestMemRefToLLVMWithTransforms();
void registerTestTransformDialectEraseSchedulePass();
void registerTestVectorLowerings();
} // namespace test
} // namespace mlir

void strataRegisterUpstreamTestPasses(void) {
  using namespace mlir;
  registerTestAffineAccessAnalysisPass();
  registerTestAffineDataCopyPass();
  registerTestAffineLoopUnswitchingPass();
  registerTestAffineReifyValueBoundsPass();
  registerTestDecomposeAffineOpPass();
  registerTestLoopPermutationPass();
  registerVectorizerTestPass();
  registerLoopLikeInterfaceTestPasses();
  test::registerTestAffineLoopParametricTilingPass();
  test::registerTestLoopFusion();
  test::registerTestLoopMappingPass();
  test::registerTestArithEmulateWideIntPass();
  test::registerTestOneShotModuleBufferizePass();
  test::registerTestTensorCopyInsertionPass();
  test::registerTestCfAssertPass();
  test::registerTestLLVMLegalizePatternsPass();
  test::registerTestLowerToLLVM();
  test::registerTestDataLayoutPropagation();
  test::registerTestLinalgDecomposeOps();
  test::registerTestLinalgDropUnitDims();
  test::registerTestLinalgElementwiseFusion();
  test::registerTestLinalgGreedyFusion();
  test::registerTestLinalgRankReduceContractionOps();
  test::registerTestLinalgTransforms();
  test::registerTestPadFusion();
  test::registerTestMathAlgebraicSimplificationPass();
  test::registerTestMathPolynomialApproximationPass();
  test::registerTestComposeSubView();
  test::registerTestEmulateNarrowTypePass();
  test::registerTestMultiBuffering();
  test::registerSimpleParametricTilingPass();
  test::registerTestLoopUnrollingPass();
  test::registerTestParallelLoopUnrollingPass();
  test::registerTestSCFUpliftWhileToFor();
  test::registerTestSCFUtilsPass();
  test::registerTestSCFWhileOpBuilderPass();
  test::registerTestSCFWrapInZeroTripCheckPasses();
  test::registerTestTensorTransforms();
  test::registerConvertCallOpPass();
  test::registerConvertFuncOpPass();
  test::registerTestMemRefToLLVMWithTransforms();
  test::registerTestTransformDialectEraseSchedulePass();
  test::registerTestVectorLowerings();
}
