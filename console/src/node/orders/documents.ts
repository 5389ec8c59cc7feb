import { graphql } from "../../gql/node";

export const OrderDetailDocument = graphql(`
  query OrderDetail($id: UUID, $number: String) {
    order(id: $id, number: $number) {
      id
      number
      buyerOrg
      buyerReference
      product
      quantity
      startDate
      dueDate
      dailyTarget
      rampDays
      stage
      status
      planVersion
      note
      createdAt
      updatedAt
      routing {
        name
        unit
        version
      }
      plan {
        id
        version
        reason
        status
        createdAt
        allocations {
          step
          factoryId
          day
          units
          factory {
            id
            name
            slug
          }
        }
      }
      workOrders {
        id
        step
        process
        quantity
        made
        scrapped
        status
        startDate
        endDate
        planVersion
        factory {
          id
          name
          slug
        }
      }
      progress {
        stage
        reached
        at
      }
    }
  }
`);

/** The plan's reasoning and re-plan effect: who may plan the order (FORBIDDEN for its buyer). */
export const OrderReasoningDocument = graphql(`
  query OrderReasoning($id: UUID!) {
    order(id: $id) {
      id
      plan {
        id
        version
        reason
        gap
        solveTimeS
        reasoning {
          summary
          madeQuantity
          maxQuantity
          steps {
            step
            requiredUnits
            madeUnits
            firstDay
            lastDay
            eligibleFactories
            used {
              factory
              process
              units
              share
              costRank
              reason
            }
            unused {
              factory
              process
              reason
            }
          }
          capacityBindings {
            factory
            process
            fullDays
            daysAvailable
            steps
          }
          targetShortfall {
            day
            units
          }
          missing {
            step
            units
          }
          risk {
            step
            factory
            process
            capacityLeftPerDay
            dailyNeed
            shortfallPerDay
          }
        }
        replanEffect {
          asOf
          unitsMoved
          unitsAdded
          unitsRemoved
          outputBefore {
            day
            units
          }
          outputAfter {
            day
            units
          }
          missedDays {
            day
            units
          }
          newlyMissed {
            day
            units
          }
          changes {
            step
            factory
            process
            added
            removed
          }
        }
      }
    }
  }
`);

export const OrderProgressDocument = graphql(`
  subscription OrderProgressLive($orderId: UUID!) {
    orderProgress(orderId: $orderId) {
      id
      kind
      stage
      at
    }
  }
`);

export const ReportBreakdownDocument = graphql(`
  mutation OrderReportBreakdown($input: BreakdownInput!) {
    reportBreakdown(input: $input) {
      breakdownId
      replanned {
        id
        version
      }
    }
  }
`);

export const OrderRoutingsDocument = graphql(`
  query OrderRoutings {
    routings {
      id
      product
      name
      unit
      version
    }
  }
`);

export const PlaceOrderDocument = graphql(`
  mutation PlaceOrder($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      id
      number
    }
  }
`);
