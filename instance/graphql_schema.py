"""The GraphQL schema the instance serves at ``/api/graphql``: the part of GitLab's schema that
subscription provisioning touches, with GitLab's type, field and argument names, its global id
scalars and its connection types (``nodes``, ``edges``, ``pageInfo``, ``count``).

Fields GitLab does not have are marked ``(replica)`` in their description; clients that ask only
for GitLab's fields never see them.
"""

from __future__ import annotations

from string import Template

from graphql import GraphQLSchema, build_schema

# GitLab's User interface: the fields every user type has (AddOnUser, CurrentUser).
_USER_FIELDS = """\
  id: UserID!
  username: String!
  name: String!
  state: UserState!
  webUrl: String!
  publicEmail: String
"""

# GitLab's Group type is a Namespace (GroupType < NamespaceType): a group answers every field a
# namespace does.
_NAMESPACE_FIELDS = """\
  id: ID!
  name: String!
  path: String!
  fullName: String!
  fullPath: ID!
  addOnEligibleUsers(
    addOnType: GitlabSubscriptionsAddOnType!
    addOnPurchaseIds: [GitlabSubscriptionsAddOnPurchaseID!]!
    search: String
    filterByAssignedSeat: String
    after: String, before: String, first: Int, last: Int
  ): AddOnUserConnection
"""

SDL = Template(
    '''
"""A `GitlabSubscriptionsAddOnPurchaseID` is a global ID, e.g. "gid://gitlab/GitlabSubscriptions::AddOnPurchase/1"."""
scalar GitlabSubscriptionsAddOnPurchaseID
"""A `UserID` is a global ID, e.g. "gid://gitlab/User/1"."""
scalar UserID
"""A `NamespaceID` is a global ID, e.g. "gid://gitlab/Group/1"."""
scalar NamespaceID

enum GitlabSubscriptionsAddOnType { CODE_SUGGESTIONS DUO_ENTERPRISE ENTERPRISE_AGILE_PLANNING }

"""Possible states of a user."""
enum UserState { active blocked deactivated banned }

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type AddOnPurchase {
  id: GitlabSubscriptionsAddOnPurchaseID!
  name: String!
  purchasedQuantity: Int!
  assignedQuantity: Int!
  "(replica) First day of the add-on."
  startsAt: String
  "(replica) Day the add-on ends."
  expiresOn: String
  "(replica) Whether the add-on is a trial."
  trial: Boolean!
  "(replica) Whether the add-on is active today."
  active: Boolean!
}

type UserAddOnAssignment { addOnPurchase: AddOnPurchase! }
type UserAddOnAssignmentEdge { cursor: String! node: UserAddOnAssignment }
type UserAddOnAssignmentConnection {
  count: Int!
  edges: [UserAddOnAssignmentEdge]
  nodes: [UserAddOnAssignment]
  pageInfo: PageInfo!
}

type AddOnUser {
$user_fields  lastDuoActivityOn: String
  addOnAssignments(
    addOnPurchaseIds: [GitlabSubscriptionsAddOnPurchaseID!]!
    after: String, before: String, first: Int, last: Int
  ): UserAddOnAssignmentConnection
}
type AddOnUserEdge { cursor: String! node: AddOnUser }
type AddOnUserConnection {
  count: Int!
  edges: [AddOnUserEdge]
  nodes: [AddOnUser]
  pageInfo: PageInfo!
}

type CurrentUser {
$user_fields}

type CurrentLicense {
  id: ID!
  type: String
  plan: String!
  name: String
  email: String
  company: String
  startsAt: String
  expiresAt: String
  activatedAt: String
  lastSync: String
  usersInLicenseCount: Int
  billableUsersCount: Int
  maximumUserCount: Int
  usersOverLicenseCount: Int
  trial: Boolean
}

"""GitLab.com: a group (a namespace); the add-on seat fields are its Owners'."""
type Namespace {
$namespace_fields}
type Group {
$namespace_fields}

type Query {
  currentUser: CurrentUser
  namespace(fullPath: ID!): Namespace
  group(fullPath: ID!): Group
  currentLicense: CurrentLicense
  addOnPurchases(namespaceId: NamespaceID): [AddOnPurchase!]
  addOnPurchase(addOnType: GitlabSubscriptionsAddOnType!, namespaceId: NamespaceID): AddOnPurchase
  selfManagedAddOnEligibleUsers(
    addOnType: GitlabSubscriptionsAddOnType!
    addOnPurchaseIds: [GitlabSubscriptionsAddOnPurchaseID!]!
    search: String
    after: String, before: String, first: Int, last: Int
  ): AddOnUserConnection
}

input UserAddOnAssignmentCreateInput {
  clientMutationId: String
  addOnPurchaseId: GitlabSubscriptionsAddOnPurchaseID!
  userId: UserID!
}
input UserAddOnAssignmentRemoveInput {
  clientMutationId: String
  addOnPurchaseId: GitlabSubscriptionsAddOnPurchaseID!
  userId: UserID!
}
input UserAddOnAssignmentBulkCreateInput {
  clientMutationId: String
  addOnPurchaseId: GitlabSubscriptionsAddOnPurchaseID!
  userIds: [UserID!]!
}
input UserAddOnAssignmentBulkRemoveInput {
  clientMutationId: String
  addOnPurchaseId: GitlabSubscriptionsAddOnPurchaseID!
  userIds: [UserID!]!
}
input GitlabSubscriptionActivateInput { clientMutationId: String activationCode: String! }

type UserAddOnAssignmentCreatePayload {
  clientMutationId: String
  errors: [String!]!
  addOnPurchase: AddOnPurchase
  user: AddOnUser
}
type UserAddOnAssignmentRemovePayload {
  clientMutationId: String
  errors: [String!]!
  addOnPurchase: AddOnPurchase
  user: AddOnUser
}
type UserAddOnAssignmentBulkCreatePayload {
  clientMutationId: String
  errors: [String!]!
  addOnPurchase: AddOnPurchase
  users: AddOnUserConnection
}
type UserAddOnAssignmentBulkRemovePayload {
  clientMutationId: String
  errors: [String!]!
  addOnPurchase: AddOnPurchase
  users: AddOnUserConnection
}
type GitlabSubscriptionActivatePayload {
  clientMutationId: String
  errors: [String!]!
  license: CurrentLicense
}

type Mutation {
  userAddOnAssignmentCreate(input: UserAddOnAssignmentCreateInput!): UserAddOnAssignmentCreatePayload
  userAddOnAssignmentRemove(input: UserAddOnAssignmentRemoveInput!): UserAddOnAssignmentRemovePayload
  userAddOnAssignmentBulkCreate(input: UserAddOnAssignmentBulkCreateInput!): UserAddOnAssignmentBulkCreatePayload
  userAddOnAssignmentBulkRemove(input: UserAddOnAssignmentBulkRemoveInput!): UserAddOnAssignmentBulkRemovePayload
  gitlabSubscriptionActivate(input: GitlabSubscriptionActivateInput!): GitlabSubscriptionActivatePayload
}
'''
).substitute(user_fields=_USER_FIELDS, namespace_fields=_NAMESPACE_FIELDS)

schema: GraphQLSchema = build_schema(SDL)
