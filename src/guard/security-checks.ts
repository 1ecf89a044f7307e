import { IConstruct } from 'constructs';
import { Element, SUPPRESSIONS_KEY, SuppressionRecord, elementsUnder } from './model';
import { RULES } from './rules';
import { SecurityFinding, SecurityRuleInfo, SecurityRuleSeverity, SecuritySuppression } from './types';
import { Annotations, IAspect, TerraformElement, TerraformStack } from '../internal/tf';

/** Props of {@link SecurityChecks}. */
export interface SecurityChecksProps {
  /**
   * Report every finding as a warning, so synth never fails on them (for a first look at an
   * existing stack; not for production).
   * @default false - findings of error severity fail synth
   */
  readonly findingsAsWarnings?: boolean;
}

/**
 * The project's security rules as an aspect, cdk-nag style: it inspects every Terraform resource,
 * data source and output of the stack as it synthesizes (the library's and any added beside them).
 * Error findings fail synth with one list of all of them (rule id, address, construct path, what
 * to fix); warnings are reported as construct annotations, which the cdktf CLI prints.
 *
 * The checks run as a validation of the stack, after every aspect, so cross-resource rules see
 * the final stack. Apply the aspect to a stack (cdktf invokes aspects per stack, not on the App).
 * Suppress a finding with {@link SecuritySuppressions.add}.
 *
 * @example
 * Aspects.of(stack).add(new SecurityChecks());
 */
export class SecurityChecks implements IAspect {
  /** The rules, in documentation order. */
  public static rules(): SecurityRuleInfo[] {
    return RULES.map(({ id, severity, title }) => ({ id, severity, title }));
  }

  private readonly findingsAsWarnings: boolean;
  private readonly subjects = new Map<TerraformStack, Set<IConstruct>>();
  private readonly latest = new Map<TerraformStack, SecurityFinding[]>();
  private readonly warned = new WeakMap<IConstruct, Set<string>>();

  constructor(props: SecurityChecksProps = {}) {
    this.findingsAsWarnings = props.findingsAsWarnings ?? false;
  }

  /** Findings of the latest check of each stack (the checks run when a stack is synthesized with validation). */
  public get findings(): SecurityFinding[] {
    return [...this.latest.values()].flat();
  }

  public visit(node: IConstruct): void {
    if (!TerraformElement.isTerraformElement(node)) return;
    const stack = TerraformStack.of(node);
    let subjects = this.subjects.get(stack);
    if (!subjects) {
      subjects = new Set();
      this.subjects.set(stack, subjects);
      stack.node.addValidation({ validate: () => this.check(stack) });
    }
    subjects.add(node);
  }

  /** Runs every rule; reports warnings as annotations and returns the errors for the validation. */
  private check(stack: TerraformStack): string[] {
    const all = elementsUnder(stack, stack);
    const subjects = all.filter((e) => this.subjects.get(stack)?.has(e.construct));
    const findings: Array<SecurityFinding & { element: Element }> = [];
    for (const rule of RULES) {
      for (const { element, message } of rule.check({ subjects, all })) {
        if (element.suppressions.some((s) => s.id === rule.id)) continue;
        const severity = this.findingsAsWarnings ? SecurityRuleSeverity.WARNING : rule.severity;
        findings.push({ ruleId: rule.id, severity, path: element.path, address: element.address, message, element });
      }
    }
    this.latest.set(stack, findings.map(({ element, ...finding }) => finding));

    for (const f of findings.filter((x) => x.severity === SecurityRuleSeverity.WARNING)) {
      const text = `${f.ruleId}: ${f.message}`;
      const seen = this.warned.get(f.element.construct) ?? new Set<string>();
      this.warned.set(f.element.construct, seen);
      if (!seen.has(text)) Annotations.of(f.element.construct).addWarning(text);
      seen.add(text);
    }
    return findings.filter((f) => f.severity === SecurityRuleSeverity.ERROR)
      .map((f) => `${f.ruleId} ${f.address} (${f.path}): ${f.message}`);
  }
}

const suppressed = new WeakMap<IConstruct, SuppressionRecord[]>();

/**
 * Per-element exceptions to {@link SecurityChecks}. Each needs a reason, which is written into the
 * synthesized JSON (`"//": { "securitySuppressions": [{ "id", "reason" }] }` of the element), so
 * reviewers see every exception in `cdk.tf.json`.
 */
export class SecuritySuppressions {
  /**
   * Suppresses rules on a resource, data source or output; on any other construct, on every
   * Terraform element below it that exists now.
   * @param scope the element, or a construct whose elements are meant
   * @param suppressions rule ids with a non-empty reason each
   */
  public static add(scope: IConstruct, suppressions: SecuritySuppression[]): void {
    const known = new Set(RULES.map((r) => r.id));
    for (const s of suppressions) {
      if (!known.has(s.ruleId)) {
        throw new Error(`SecuritySuppressions: unknown rule id "${s.ruleId}" for ${scope.node.path}; the rules are ${[...known].join(', ')}.`);
      }
      if (typeof s.reason !== 'string' || s.reason.trim() === '') {
        throw new Error(`SecuritySuppressions: the suppression of ${s.ruleId} on ${scope.node.path} needs a reason (why the finding is acceptable here).`);
      }
    }
    const targets = scope.node.findAll().filter((c): c is TerraformElement => TerraformElement.isTerraformElement(c));
    if (targets.length === 0) {
      throw new Error(`SecuritySuppressions: ${scope.node.path} holds no Terraform resource, data source or output to suppress rules on.`);
    }
    for (const target of targets) {
      const list = [...(suppressed.get(target) ?? [])];
      for (const s of suppressions) {
        const record = { id: s.ruleId, reason: s.reason.trim() };
        if (!list.some((r) => r.id === record.id && r.reason === record.reason)) list.push(record);
      }
      suppressed.set(target, list);
      target.addOverride(`//.${SUPPRESSIONS_KEY}`, list);
    }
  }
}
