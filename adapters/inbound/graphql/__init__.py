"""The GraphQL API on Strawberry: types, inputs, resolvers, errors and the router."""
