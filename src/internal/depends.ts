import { IConstruct } from 'constructs';
import { TerraformResource } from './tf';

/**
 * Every managed resource inside the given constructs, for `depends_on`: a part can wait for
 * another part as a whole (cdktf does not turn construct dependencies into `depends_on`).
 */
export function resourcesWithin(parts: IConstruct[] | undefined): TerraformResource[] {
  const out: TerraformResource[] = [];
  for (const part of parts ?? []) {
    for (const node of part.node.findAll()) {
      if (node instanceof TerraformResource) out.push(node);
    }
  }
  return out;
}
