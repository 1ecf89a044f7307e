/**
 * The one module through which the library imports CDK for Terraform core.
 *
 * HashiCorp sunset cdktf on 2025-12-10; CDK Terrain (`cdktn`) is its drop-in successor
 * with the same symbols. Moving the library is this file's import specifier plus package
 * renames (eslint forbids `cdktf` imports anywhere else in src/).
 */
export {
  Annotations,
  App,
  Aspects,
  AssetType,
  DefaultTokenResolver,
  Fn,
  Lazy,
  StringConcat,
  TerraformAsset,
  TerraformDataSource,
  TerraformElement,
  TerraformIterator,
  TerraformLocal,
  TerraformOutput,
  TerraformProvider,
  TerraformResource,
  TerraformStack,
  Token,
  Tokenization,
} from 'cdktf';
export type { IAspect, ITerraformDependable, TerraformMetaArguments, TerraformResourceLifecycle } from 'cdktf';
