/** How a finding of a security rule is reported. */
export enum SecurityRuleSeverity {
  /** Fails synth (unless the checks run with `findingsAsWarnings`). */
  ERROR = 'error',
  /** Printed as a warning; synth continues. */
  WARNING = 'warning',
}

/** A security rule of {@link SecurityChecks}, as documented in the README. */
export interface SecurityRuleInfo {
  /** Stable id, e.g. `IPA-ACR1`; suppressions name it. */
  readonly id: string;
  /** Severity of its findings. */
  readonly severity: SecurityRuleSeverity;
  /** What the rule requires, in one line. */
  readonly title: string;
}

/** One violation of a rule by one Terraform element. */
export interface SecurityFinding {
  /** Id of the violated rule. */
  readonly ruleId: string;
  /** Severity as reported (`warning` for every finding when the checks run with `findingsAsWarnings`). */
  readonly severity: SecurityRuleSeverity;
  /** Construct path of the offending element. */
  readonly path: string;
  /** Terraform address of the offending element, e.g. `azurerm_storage_account.Storage_Account_1A2B3C4D`. */
  readonly address: string;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

/** A rule that does not apply to one element, and why. */
export interface SecuritySuppression {
  /** Id of the suppressed rule, e.g. `IPA-ST5`. */
  readonly ruleId: string;
  /** Why the finding is acceptable here; written into the synthesized JSON for reviewers. Must not be empty. */
  readonly reason: string;
}
