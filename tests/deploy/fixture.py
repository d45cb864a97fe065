#!/usr/bin/env python3
"""moto fixture for tests/deploy: the seed's pre-existing network, and views of the state.

    fixture.py ENDPOINT create [--omit NAME,...]   part 2 of the seed: My-VPC, IGW, subnets,
                                                   route tables, security groups (idempotent)
    fixture.py ENDPOINT blocker-add IP             a foreign network interface holding IP
    fixture.py ENDPOINT blocker-del
    fixture.py ENDPOINT dump                       the account's state as sorted text lines
    fixture.py ENDPOINT untagged BASELINE          resources not in BASELINE (a dump) that lack
                                                   the ownership tag
    fixture.py ENDPOINT instances                  what ferry-aws launched, one line each
    fixture.py ENDPOINT names ID...                the instances' Name tags, sorted, one line
                                                   (comma separated)
    fixture.py ENDPOINT zone-add NAME [--private]  a Route 53 hosted zone (idempotent)
    fixture.py ENDPOINT record-add NAME TYPE VALUE a record someone else made (UPSERT)
    fixture.py ENDPOINT records                    every zone's records but SOA/NS, one a line
    fixture.py ENDPOINT listeners                  the load balancers' listeners, one a line
    fixture.py ENDPOINT userdata-yaml NAME         the ferry.yaml in instance NAME's user-data
    fixture.py ENDPOINT userdata-form NAME         "gzip BYTES" or "text BYTES": how instance
                                                   NAME's user-data is stored, and its size

Names, CIDRs and the region come from deploy/settings.env (environment variables override it,
as for ferry-aws). Only talks to ENDPOINT (a local moto server).
"""
import base64
import gzip
import json
import os
import re
import sys

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = os.path.join(HERE, "..", "..", "deploy", "settings.env")


def settings():
    values = {}
    with open(SETTINGS, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line.rstrip("\n"))
            if m:
                values[m.group(1)] = os.environ.get(m.group(1), m.group(2))
    return values


S = settings()
ENDPOINT = sys.argv[1]
REGION = S["FERRY_REGION"]


def client(service):
    return boto3.client(service, region_name=REGION, endpoint_url=ENDPOINT)


ec2 = client("ec2")


def tags(resource):
    return {t["Key"]: t["Value"] for t in (resource.get("Tags") or resource.get("TagSet") or [])}


def name_tag(name):
    return [{"Key": "Name", "Value": name}]


def spec(kind, name):
    return [{"ResourceType": kind, "Tags": name_tag(name)}]


def find_vpc():
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [S["FERRY_VPC_NAME"]]}])["Vpcs"]
    return vpcs[0]["VpcId"] if vpcs else None


def create(omit):
    vpc = find_vpc()
    if not vpc:
        vpc = ec2.create_vpc(CidrBlock=S["FERRY_VPC_CIDR"],
                             TagSpecifications=spec("vpc", S["FERRY_VPC_NAME"]))["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    vf = [{"Name": "vpc-id", "Values": [vpc]}]

    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])
    if igws["InternetGateways"]:
        igw = igws["InternetGateways"][0]["InternetGatewayId"]
    else:
        igw = ec2.create_internet_gateway(
            TagSpecifications=spec("internet-gateway", S["FERRY_IGW_NAME"]))["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)

    subnets = {tags(s).get("Name"): s["SubnetId"] for s in ec2.describe_subnets(Filters=vf)["Subnets"]}
    for key, az in (("PUBLIC_1", "FERRY_AZ_1"), ("PUBLIC_2", "FERRY_AZ_2"),
                    ("PRIVATE_1", "FERRY_AZ_1"), ("PRIVATE_2", "FERRY_AZ_2")):
        name = S["FERRY_SUBNET_" + key]
        if name in omit or name in subnets:
            continue
        subnets[name] = ec2.create_subnet(VpcId=vpc, CidrBlock=S["FERRY_SUBNET_%s_CIDR" % key],
                                          AvailabilityZone=S[az],
                                          TagSpecifications=spec("subnet", name))["Subnet"]["SubnetId"]

    tables = {tags(t).get("Name"): t for t in ec2.describe_route_tables(Filters=vf)["RouteTables"]}
    for rt_name, members, internet in ((S["FERRY_RT_PUBLIC"], ("PUBLIC_1", "PUBLIC_2"), True),
                                       (S["FERRY_RT_PRIVATE"], ("PRIVATE_1", "PRIVATE_2"), False)):
        if rt_name in omit:
            continue
        if rt_name in tables:
            continue
        rt = ec2.create_route_table(VpcId=vpc, TagSpecifications=spec("route-table", rt_name))
        rt_id = rt["RouteTable"]["RouteTableId"]
        if internet:
            ec2.create_route(RouteTableId=rt_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        for m in members:
            sn = subnets.get(S["FERRY_SUBNET_" + m])
            if sn:
                ec2.associate_route_table(RouteTableId=rt_id, SubnetId=sn)

    groups = {g["GroupName"]: g["GroupId"] for g in ec2.describe_security_groups(Filters=vf)["SecurityGroups"]}
    if S["FERRY_SG_PUBLIC"] not in omit and S["FERRY_SG_PUBLIC"] not in groups:
        gid = ec2.create_security_group(GroupName=S["FERRY_SG_PUBLIC"], VpcId=vpc,
                                        Description="load balancer",
                                        TagSpecifications=spec("security-group", S["FERRY_SG_PUBLIC"]))["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
            "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "HTTP"}]}])
        groups[S["FERRY_SG_PUBLIC"]] = gid
    if S["FERRY_SG_PRIVATE"] not in omit and S["FERRY_SG_PRIVATE"] not in groups:
        gid = ec2.create_security_group(GroupName=S["FERRY_SG_PRIVATE"], VpcId=vpc,
                                        Description="service instances",
                                        TagSpecifications=spec("security-group", S["FERRY_SG_PRIVATE"]))["GroupId"]
        if S["FERRY_SG_PUBLIC"] in groups:
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": 8888, "ToPort": 8888,
                "UserIdGroupPairs": [{"GroupId": groups[S["FERRY_SG_PUBLIC"]], "Description": "nginx from the ALB"}]}])
    print(vpc)


def blocker_add(ip):
    vpc = find_vpc()
    for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]:
        net, bits = s["CidrBlock"].split("/")
        to_int = lambda a: int.from_bytes(bytes(int(x) for x in a.split(".")), "big")  # noqa: E731
        mask = (0xFFFFFFFF << (32 - int(bits))) & 0xFFFFFFFF
        if to_int(ip) & mask == to_int(net) & mask:
            ec2.create_network_interface(SubnetId=s["SubnetId"], PrivateIpAddress=ip,
                                         Description="someone else's interface",
                                         TagSpecifications=spec("network-interface", "blocker"))
            return
    sys.exit("no subnet holds " + ip)


def blocker_del():
    for eni in ec2.describe_network_interfaces(
            Filters=[{"Name": "description", "Values": ["someone else's interface"]}])["NetworkInterfaces"]:
        ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])


def dump_lines():
    """Every resource of interest as 'kind id owner-tag details' lines."""
    out = []
    key, value = S["FERRY_TAG_KEY"], S["FERRY_TAG_VALUE"]

    def add(kind, rid, res, detail=""):
        owned = "ours" if tags(res).get(key) == value else "-"
        out.append("%s %s %s %s %s" % (kind, rid, owned, tags(res).get("Name", "-"), detail))

    for v in ec2.describe_vpcs()["Vpcs"]:
        if v.get("IsDefault"):
            continue
        add("vpc", v["VpcId"], v, v["CidrBlock"])
    for s in ec2.describe_subnets()["Subnets"]:
        if s.get("DefaultForAz"):
            continue
        add("subnet", s["SubnetId"], s, s["CidrBlock"] + " " + s["AvailabilityZone"])
    for g in ec2.describe_internet_gateways()["InternetGateways"]:
        add("igw", g["InternetGatewayId"], g, ",".join(a["VpcId"] for a in g.get("Attachments", [])))
    for t in ec2.describe_route_tables()["RouteTables"]:
        routes = sorted("%s>%s:%s" % (r.get("DestinationCidrBlock"), r.get("GatewayId") or r.get("NatGatewayId"),
                                      r.get("State")) for r in t["Routes"])
        assoc = sorted(a.get("SubnetId") or "main" for a in t.get("Associations", []))
        add("rtb", t["RouteTableId"], t, " ".join(routes + assoc))
    for g in ec2.describe_security_groups()["SecurityGroups"]:
        add("sg", g["GroupId"], g, g["GroupName"] + " " + g["VpcId"])
    for r in ec2.describe_security_group_rules()["SecurityGroupRules"]:
        add("sgr", r["SecurityGroupRuleId"], r, "%s %s %s %s-%s %s" % (
            r["GroupId"], "out" if r["IsEgress"] else "in", r["IpProtocol"], r.get("FromPort"), r.get("ToPort"),
            r.get("CidrIpv4") or r.get("ReferencedGroupInfo", {}).get("GroupId")))
    for res in ec2.describe_instances()["Reservations"]:
        for i in res["Instances"]:
            if i["State"]["Name"] != "terminated":
                add("instance", i["InstanceId"], i, i.get("PrivateIpAddress", "-"))
    for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]:
        if e["State"].lower() not in ("deleted", "deleting"):
            add("endpoint", e["VpcEndpointId"], e, e["ServiceName"])
    for n in ec2.describe_nat_gateways()["NatGateways"]:
        if n["State"] not in ("deleted", "deleting"):
            add("nat", n["NatGatewayId"], n, n["State"])
    for a in ec2.describe_addresses()["Addresses"]:
        add("eip", a["AllocationId"], a, a.get("PublicIp", ""))
    # Network interfaces are left out: they belong to instances, endpoints and NAT gateways
    # (which are in), and moto keeps a deleted NAT gateway's interface.
    iam = client("iam")
    for r in iam.list_roles()["Roles"]:
        if r["Path"].startswith("/aws-service-role/"):
            continue
        full = iam.get_role(RoleName=r["RoleName"])["Role"]
        pols = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=r["RoleName"])["AttachedPolicies"]]
        add("role", r["RoleName"], full, " ".join(sorted(pols)))
    for p in iam.list_instance_profiles()["InstanceProfiles"]:
        add("profile", p["InstanceProfileName"], p, " ".join(r["RoleName"] for r in p["Roles"]))
    s3 = client("s3")
    for b in s3.list_buckets().get("Buckets", []):
        try:
            t = {"Tags": s3.get_bucket_tagging(Bucket=b["Name"])["TagSet"]}
        except Exception:  # noqa: BLE001 - untagged bucket
            t = {}
        add("bucket", b["Name"], t)
    ssm = client("ssm")
    for p in ssm.describe_parameters().get("Parameters", []):
        t = {"Tags": ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=p["Name"])["TagList"]}
        add("param", p["Name"], t, p["Type"] + " " + p.get("Description", ""))
    out.extend("rr " + line for line in record_lines())
    acm = client("acm")
    for c in acm.list_certificates()["CertificateSummaryList"]:
        t = {"Tags": acm.list_tags_for_certificate(CertificateArn=c["CertificateArn"]).get("Tags", [])}
        add("cert", c["CertificateArn"].split("/")[-1], t, c["DomainName"])
    elb = client("elbv2")
    arns = []
    for lb in elb.describe_load_balancers().get("LoadBalancers", []):
        arns.append(lb["LoadBalancerArn"])
    for tg in elb.describe_target_groups().get("TargetGroups", []):
        arns.append(tg["TargetGroupArn"])
    if arns:
        for d in elb.describe_tags(ResourceArns=arns)["TagDescriptions"]:
            add("elb", d["ResourceArn"].split(":")[-1], d)
    return sorted(out)


def zone_add(name, private):
    r53 = client("route53")
    for z in r53.list_hosted_zones()["HostedZones"]:
        if z["Name"] == name.rstrip(".") + "." and z["Config"].get("PrivateZone", False) == private:
            print(z["Id"].split("/")[-1])
            return
    args = {"Name": name, "CallerReference": "fixture-" + name + ("-private" if private else "")}
    if private:
        args["VPC"] = {"VPCRegion": REGION, "VPCId": find_vpc()}
        args["HostedZoneConfig"] = {"PrivateZone": True, "Comment": "private"}
    print(r53.create_hosted_zone(**args)["HostedZone"]["Id"].split("/")[-1])


def zone_of(name):
    r53 = client("route53")
    best = None
    for z in r53.list_hosted_zones()["HostedZones"]:
        zn = z["Name"].rstrip(".")
        if not z["Config"].get("PrivateZone") and (name == zn or name.endswith("." + zn)):
            if best is None or len(zn) > len(best[1]):
                best = (z["Id"], zn)
    return best[0]


def record_add(name, kind, value):
    client("route53").change_resource_record_sets(HostedZoneId=zone_of(name), ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {"Name": name, "Type": kind, "TTL": 300,
                                                  "ResourceRecords": [{"Value": value}]}}]})


def record_lines():
    """'ZONE[/private] NAME TYPE TTL VALUES' for every record but SOA and NS."""
    r53 = client("route53")
    out = []
    for z in r53.list_hosted_zones()["HostedZones"]:
        zone = z["Name"] + ("/private" if z["Config"].get("PrivateZone") else "")
        for r in r53.list_resource_record_sets(HostedZoneId=z["Id"])["ResourceRecordSets"]:
            if r["Type"] in ("SOA", "NS"):
                continue
            if "AliasTarget" in r:
                value = "alias:" + r["AliasTarget"]["DNSName"].lower().rstrip(".")
            else:
                value = ",".join(v["Value"] for v in r.get("ResourceRecords", []))
            out.append("%s %s %s %s %s" % (zone, r["Name"], r["Type"], r.get("TTL", "-"), value))
    return sorted(out)


def listeners():
    elb, acm = client("elbv2"), client("acm")
    tgs = {t["TargetGroupArn"]: t["TargetGroupName"] for t in elb.describe_target_groups()["TargetGroups"]}
    out = []
    for lb in elb.describe_load_balancers()["LoadBalancers"]:
        for li in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
            certs = [acm.describe_certificate(CertificateArn=c["CertificateArn"])["Certificate"]
                     for c in li.get("Certificates", [])]
            out.append("%s %s %s forward=%s certificate=%s policy=%s" % (
                lb["LoadBalancerName"], li["Port"], li["Protocol"],
                ",".join(tgs.get(a.get("TargetGroupArn"), "?") for a in li["DefaultActions"]),
                ",".join("%s/%s" % (c["DomainName"], c["Status"]) for c in certs) or "-", li.get("SslPolicy", "-")))
    print("\n".join(sorted(out)))


def user_data(instance_id):
    """The instance's user-data as text; gzipped user-data (ferry-aws gzips a script over
    EC2's 16 KiB) unpacked, as cloud-init does."""
    ud = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    raw = base64.b64decode(ud.get("UserData", {}).get("Value", "") or "")
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", "replace")


def live_instance_ids(name):
    return [i["InstanceId"]
            for res in ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])["Reservations"]
            for i in res["Instances"] if i["State"]["Name"] != "terminated"]


def userdata_form(name):
    for iid in live_instance_ids(name):
        ud = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
        raw = base64.b64decode(ud.get("UserData", {}).get("Value", "") or "")
        print("%s %d" % ("gzip" if raw[:2] == b"\x1f\x8b" else "text", len(raw)))
        return
    sys.exit("no instance named " + name)


def userdata_yaml(name):
    for iid in live_instance_ids(name):
        m = re.search(r"<<'FERRY_EOF_YAML'\n(.*?)\nFERRY_EOF_YAML\n", user_data(iid), re.S)
        if m:
            print(m.group(1))
            return
    sys.exit("no ferry.yaml in the user-data of " + name)


def untagged(baseline_file):
    with open(baseline_file, encoding="utf-8") as f:
        before = {" ".join(line.split()[:2]) for line in f if line.strip()}
    bad = []
    ours_groups = set()
    lines = dump_lines()
    for line in lines:
        kind, rid, owned = line.split()[:3]
        if kind == "sg" and owned == "ours":
            ours_groups.add(rid)
    for line in lines:
        kind, rid, owned = line.split()[:3]
        if kind == "rr" or kind + " " + rid in before or owned == "ours":  # records carry no tags
            continue
        if kind == "sgr" and line.split()[4] in ours_groups:  # the default egress rule of our own group
            continue
        bad.append(line)
    print("\n".join(bad))
    return 1 if bad else 0


def instances():
    subnets = {s["SubnetId"]: tags(s).get("Name") for s in ec2.describe_subnets()["Subnets"]}
    groups = {g["GroupId"]: g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    volumes = {v["VolumeId"]: v for v in ec2.describe_volumes()["Volumes"]}
    rows = []
    for res in ec2.describe_instances()["Reservations"]:
        for i in res["Instances"]:
            if i["State"]["Name"] == "terminated":
                continue
            t = tags(i)
            if t.get(S["FERRY_TAG_KEY"]) != S["FERRY_TAG_VALUE"]:
                continue
            vol = "-"
            for bdm in i.get("BlockDeviceMappings", []):
                v = volumes.get(bdm["Ebs"]["VolumeId"], {})
                vol = "%sGiB/%s/delete-on-termination=%s" % (
                    v.get("Size"), v.get("VolumeType"), bdm["Ebs"].get("DeleteOnTermination"))
            ud = user_data(i["InstanceId"])
            m = re.search(r"^# ferry-aws user-data for the (\S+) (\S+? )?(\S+) \(", ud, re.M)
            first = "%s:%s" % (m.group(1), m.group(3)) if m else "-"
            if "This is index page!" in ud:
                first += "+app.py"
            if "FERRY_EOF_YAML" in ud and "10.20.10.31:8000" in ud:
                first += "+ferry.yaml"
            m = re.search(r'^  domains: \["(.*)"\]$', ud, re.M)
            if m:
                first += "+acme:" + m.group(1)
            m = re.search(r"^TLS_CERT_PARAMETER='(.*)'$", ud, re.M)
            if m:
                first += "+tls:" + ("ssm" if m.group(1) else "self-signed")
            nic_groups = [g for n in i.get("NetworkInterfaces", []) for g in n.get("Groups", [])]
            rows.append(" ".join(str(x) for x in (
                t.get("Name"), t.get("FerryRole"), i["InstanceType"], i["ImageId"],
                "ip=" + str(i.get("PrivateIpAddress")), "subnet=" + str(subnets.get(i.get("SubnetId"))),
                "public=" + ("yes" if i.get("PublicIpAddress") else "no"),
                "sg=" + ",".join(sorted({groups.get(g["GroupId"], g["GroupId"]) for g in i["SecurityGroups"] + nic_groups})),
                "profile=" + i.get("IamInstanceProfile", {}).get("Arn", "-").split("/")[-1],
                "volume=" + vol,
                "imds=" + i.get("MetadataOptions", {}).get("HttpTokens", "-"),
                "userdata=" + first)))
    print("\n".join(sorted(rows)))


def names(ids):
    found = {i["InstanceId"]: tags(i).get("Name")
             for res in ec2.describe_instances()["Reservations"] for i in res["Instances"]}
    print(",".join(sorted(str(found.get(i, i)) for i in ids)))


def main():
    cmd = sys.argv[2]
    if cmd == "create":
        omit = set()
        if len(sys.argv) > 4 and sys.argv[3] == "--omit":
            omit = set(sys.argv[4].split(","))
        create(omit)
    elif cmd == "blocker-add":
        blocker_add(sys.argv[3])
    elif cmd == "blocker-del":
        blocker_del()
    elif cmd == "dump":
        print("\n".join(dump_lines()))
    elif cmd == "untagged":
        sys.exit(untagged(sys.argv[3]))
    elif cmd == "instances":
        instances()
    elif cmd == "names":
        names(sys.argv[3:])
    elif cmd == "zone-add":
        zone_add(sys.argv[3], "--private" in sys.argv[4:])
    elif cmd == "record-add":
        record_add(*sys.argv[3:6])
    elif cmd == "listeners":
        listeners()
    elif cmd == "userdata-yaml":
        userdata_yaml(sys.argv[3])
    elif cmd == "userdata-form":
        userdata_form(sys.argv[3])
    elif cmd == "records":
        print("\n".join(record_lines()))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
