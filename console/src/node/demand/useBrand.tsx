import { useMemo } from "react";
import { useSearchParams } from "react-router";
import { useQuery } from "urql";
import { useViewer } from "../../auth/useViewer";
import { graphql } from "../../gql/node";
import { brandsOf, chosenBrand } from "./shaping";

const DemandBrandsDocument = graphql(`
  query DemandBrands {
    products(first: 100) {
      edges {
        node {
          id
          brand
        }
      }
    }
  }
`);

/**
 * The brand the demand pages show, kept in the address (`?brand=<organization id>`) so links
 * and reloads keep it. The choices are the brands whose products the API lists: a brand's own,
 * every brand's for the node operator. A brand named in the address is asked about as it is:
 * the API, not this page, says whether the viewer may see it.
 */
export function useBrand() {
  const viewer = useViewer();
  const [params, setParams] = useSearchParams();
  const [{ data, fetching, error }] = useQuery({ query: DemandBrandsDocument });
  const brands = useMemo(
    () =>
      brandsOf(
        (data?.products.edges ?? []).map((edge) => edge.node),
        viewer.organization,
      ),
    [data, viewer.organization],
  );
  const brand = chosenBrand(params.get("brand"), brands);
  const setBrand = (id: string) => {
    const next = new URLSearchParams(params);
    next.set("brand", id);
    setParams(next);
  };
  return { brands, brand, setBrand, fetching, error, own: viewer.organization };
}
