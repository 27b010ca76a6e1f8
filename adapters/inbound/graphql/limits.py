"""Depth and alias limits measured in time linear in the document.

Strawberry's `QueryDepthLimiter` and `MaxAliasesLimiter` walk every fragment spread again
each time it is used: a chain of fragments that each spread the next twice costs 2^n walks
in a document of a few hundred bytes. Here each definition (operation or fragment) is walked
once, iteratively, into a summary of what it contains and which fragments it spreads where;
the summaries are then combined with each fragment's measure computed once.

The measures are the ones strawberry's limiters took, so the limits keep their meaning:

- depth: the greatest number of fields above any field. Fields whose names start with `__`
  count where they stand, but what is under them does not (graphql-core's
  `MaxIntrospectionDepthRule` bounds introspection instead).
- aliases: aliased fields counted once per use of the fragment holding them, as strawberry
  counted them. That is also an upper bound on what execution resolves: a fragment spread
  under two aliased fields runs twice, and spread twice in one selection set it merges and
  runs once, so the count may be higher than execution, never lower. It can be exponential
  in the size of the document (a doubling chain), so it is added up saturating at the limit.

A fragment that spreads itself, directly or through others, is measured without the spread
that closes the cycle; graphql-core's `NoFragmentCyclesRule` refuses the document anyway.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OverlappingFieldsCanBeMergedRule,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    specified_rules,
)
from strawberry.extensions import SchemaExtension


@dataclass(slots=True)
class _Summary:
    """One definition, walked once: its own deepest field and aliases, and its spreads."""

    depth: int = 0
    aliases: int = 0
    # (fragment name, fields above the spread, whether the spread counts towards depth)
    spreads: list[tuple[str, int, bool]] = field(default_factory=list)


def _summarise(selection_set: SelectionSetNode) -> _Summary:
    summary = _Summary()
    # (selection set, fields above its selections, whether they count towards depth)
    stack = [(selection_set, 0, True)]
    while stack:
        selections, above, counted = stack.pop()
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                if counted:
                    summary.depth = max(summary.depth, above)
                if selection.alias is not None:
                    summary.aliases += 1
                if selection.selection_set is not None:
                    below = counted and not selection.name.value.startswith("__")
                    stack.append((selection.selection_set, above + 1, below))
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, above, counted))
            elif isinstance(selection, FragmentSpreadNode):
                summary.spreads.append((selection.name.value, above, counted))
    return summary


@dataclass(frozen=True, slots=True)
class Cost:
    depth: int
    aliases: int


def measure(
    document: DocumentNode, *, alias_cap: int
) -> list[tuple[OperationDefinitionNode, Cost]]:
    """Each operation's depth and aliases (aliases saturating at `alias_cap`)."""
    summaries: dict[str, _Summary] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            # A repeated name is refused by UniqueFragmentNamesRule; the first is measured.
            summaries.setdefault(definition.name.value, _summarise(definition.selection_set))
    costs = _fragment_costs(summaries, alias_cap)
    return [
        (definition, _combine(_summarise(definition.selection_set), costs, alias_cap))
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]


def _combine(summary: _Summary, costs: dict[str, Cost], alias_cap: int) -> Cost:
    depth, aliases = summary.depth, summary.aliases
    for name, above, counted in summary.spreads:
        cost = costs.get(name)  # an unknown fragment is KnownFragmentNamesRule's to refuse
        if cost is None:
            continue
        if counted:
            depth = max(depth, above + cost.depth)
        aliases = min(alias_cap, aliases + cost.aliases)
    return Cost(depth, aliases)


def _fragment_costs(summaries: dict[str, _Summary], alias_cap: int) -> dict[str, Cost]:
    """Every fragment's cost, each computed once, children before parents (iteratively:
    a long chain of fragments must not exhaust the interpreter's recursion limit)."""
    costs: dict[str, Cost] = {}
    entered: set[str] = set()
    for root in summaries:
        stack = [root]
        while stack:
            name = stack[-1]
            if name in costs:
                stack.pop()
                continue
            if name not in entered:
                entered.add(name)
                stack.extend(
                    child
                    for child, _, _ in summaries[name].spreads
                    if child in summaries and child not in entered
                )
                continue
            # Children are done, or entered higher up this path: a cycle, measured without
            # the spread that closes it (left out of `costs` until its own turn ends).
            stack.pop()
            costs[name] = _combine(summaries[name], costs, alias_cap)
    return costs


def cost_rule(*, max_depth: int, max_aliases: int) -> type[ValidationRule]:
    """A validation rule refusing operations deeper than `max_depth` or with more than
    `max_aliases` aliases. Made once per schema: strawberry's validation cache is keyed by
    the rule classes."""

    class CostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            total = 0
            for operation, cost in measure(context.document, alias_cap=max_aliases + 1):
                if cost.depth > max_depth:
                    context.report_error(
                        GraphQLError(
                            f"The operation exceeds the maximum depth of {max_depth}.", operation
                        )
                    )
                total = min(max_aliases + 1, total + cost.aliases)
            if total > max_aliases:
                # The count is saturated, so it is not said: only the limit.
                context.report_error(
                    GraphQLError(f"The document has more than {max_aliases} aliases.")
                )

    return CostRule


# graphql-core's OverlappingFieldsCanBeMergedRule compares fields that share a response
# name pairwise: quadratic. It meters that work and aborts validation past a budget, by
# default 500,000 units, which documents within 2,000 tokens reach in 0.4-0.8 s on the
# 2-core development machine (`{ plans { name } ... }` 300 times, tests/unit/adapters/
# test_graphql_limits.py). 20,000 units bound it near 40 ms; the largest real documents
# use about 1,000 (the same fragment spread 1,000 times) and introspection none.
OVERLAP_BUDGET = 20_000


class BudgetedOverlappingFieldsRule(OverlappingFieldsCanBeMergedRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = OVERLAP_BUDGET


def validation_rules(*, max_depth: int, max_aliases: int) -> tuple[type[ASTValidationRule], ...]:
    """graphql-core's rules, the quadratic one budgeted, and the depth and alias limits."""
    return (
        *(
            BudgetedOverlappingFieldsRule if rule is OverlappingFieldsCanBeMergedRule else rule
            for rule in specified_rules
        ),
        cost_rule(max_depth=max_depth, max_aliases=max_aliases),
    )


class ValidationRules(SchemaExtension):
    """Validate with these rules instead of graphql-core's defaults."""

    def __init__(self, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self._rules = rules

    def on_operation(self) -> Iterator[None]:
        self.execution_context.validation_rules = self._rules
        yield
