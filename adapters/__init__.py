"""The outside world: MongoDB through Beanie, GraphQL through Strawberry, files, clocks."""
