import { LocalBackend, TerraformBackend, TerraformStack } from 'cdktf';

/**
 * The examples' default backend: local state in `examples/terraform.<stack>.tfstate`, written
 * relative to the stack's folder (`cdktf.out/stacks/<stack>/`, where terraform runs), so the
 * synthesized JSON names no path of this machine. A stack that sets its own backend keeps it.
 */
export function withLocalState(stack: TerraformStack): TerraformStack {
  if (!stack.node.children.some((c) => c instanceof TerraformBackend)) {
    new LocalBackend(stack, { path: `../../../terraform.${stack.node.id}.tfstate` });
  }
  return stack;
}
