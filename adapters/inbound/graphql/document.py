"""What a parsed document asks for at its root, read before validation and in linear time."""

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
)

INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})


def operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def chosen_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    """The operation that would run, as graphql-core chooses it, or None if none would."""
    chosen = [
        o
        for o in operations(document)
        if operation_name is None or (o.name is not None and o.name.value == operation_name)
    ]
    return chosen[0] if len(chosen) == 1 else None


def root_fields(
    document: DocumentNode, operation: OperationDefinitionNode
) -> frozenset[str] | None:
    """The names of the operation's root fields, also those inside fragments (spread or
    inline) at the root; None if the root spreads a fragment the document does not define.

    Each fragment is read once, however often it is spread, so this is linear."""
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments.setdefault(definition.name.value, definition)
    names: set[str] = set()
    read: set[str] = set()
    stack = [operation.selection_set]
    while stack:
        for selection in stack.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                stack.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None:
                    return None
                if name not in read:
                    read.add(name)
                    stack.append(fragment.selection_set)
    return frozenset(names)


def introspection_only(document: DocumentNode) -> bool:
    """Whether every operation of the document asks only for introspection at its root."""
    found = operations(document)
    for operation in found:
        fields = root_fields(document, operation)
        if not fields or not fields <= INTROSPECTION_FIELDS:
            return False
    return bool(found)
