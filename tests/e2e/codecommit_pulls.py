"""boto3 against a running Ferry: the pull request life cycle — create (idempotent), list, approve
per revision (a push to the source makes a new revision and earlier approvals stop counting),
events, conflict detection, merge by each strategy, close, and `git` seeing the merge commits.

Needs BOB_AKID / BOB_SECRET: a second user's key (authors cannot approve their own requests)."""

import os
import subprocess
import tempfile

import boto3
from botocore.config import Config

from helpers import check, done, expect_error, git

URL = os.environ["FERRY_URL"]
cfg = Config(retries={"max_attempts": 1, "mode": "standard"})
cc = boto3.client("codecommit", endpoint_url=URL, config=cfg)
bob = boto3.client("codecommit", endpoint_url=URL, config=cfg, aws_access_key_id=os.environ["BOB_AKID"],
                   aws_secret_access_key=os.environ["BOB_SECRET"])








def tip(branch):
    return cc.get_branch(repositoryName="prs", branchName=branch)["branch"]["commitId"]


def put(branch, path, content):
    return cc.put_file(repositoryName="prs", branchName=branch, filePath=path, fileContent=content, parentCommitId=tip(branch))["commitId"]


cc.create_repository(repositoryName="prs")
cc.put_file(repositoryName="prs", branchName="main", filePath="app.txt", fileContent=b"v1\n")
for b in ["feature", "ff", "squashy", "abandoned"]:
    cc.create_branch(repositoryName="prs", branchName=b, commitId=tip("main"))
put("feature", "feature.txt", b"feature\n")

# --- create --------------------------------------------------------------------------------
target = [{"repositoryName": "prs", "sourceReference": "feature", "destinationReference": "main"}]
pr = cc.create_pull_request(title="Add feature", description="first", targets=target, clientRequestToken="tok-1")["pullRequest"]
pid = pr["pullRequestId"]
t = pr["pullRequestTargets"][0]
check(pr["pullRequestStatus"] == "OPEN" and t["sourceReference"] == "refs/heads/feature" and t["destinationReference"] == "refs/heads/main", f"created {pr}")
check(t["sourceCommit"] == tip("feature") and t["mergeBase"] == tip("main") and not t["mergeMetadata"]["isMerged"], "targets")
again = cc.create_pull_request(title="Add feature", description="first", targets=target, clientRequestToken="tok-1")["pullRequest"]
check(again["pullRequestId"] == pid, "same client request token, same pull request")
expect_error("IdempotencyParameterMismatchException", cc.create_pull_request, title="Other", targets=target, clientRequestToken="tok-1")
expect_error("SourceAndDestinationAreSameException", cc.create_pull_request, title="x",
             targets=[{"repositoryName": "prs", "sourceReference": "main", "destinationReference": "main"}])
expect_error("ReferenceDoesNotExistException", cc.create_pull_request, title="x",
             targets=[{"repositoryName": "prs", "sourceReference": "nope"}])
expect_error("MultipleRepositoriesInPullRequestException", cc.create_pull_request, title="x", targets=target * 2)
expect_error("RepositoryDoesNotExistException", cc.create_pull_request, title="x",
             targets=[{"repositoryName": "absent", "sourceReference": "feature"}])
expect_error("PullRequestDoesNotExistException", cc.get_pull_request, pullRequestId="999")
expect_error("InvalidPullRequestIdException", cc.get_pull_request, pullRequestId="abc")
check(cc.get_pull_request(pullRequestId=pid)["pullRequest"]["description"] == "first", "get")

# --- approvals per revision ----------------------------------------------------------------
rev1 = pr["revisionId"]
expect_error("PullRequestCannotBeApprovedByAuthorException", cc.update_pull_request_approval_state, pullRequestId=pid,
             revisionId=rev1, approvalState="APPROVE")
bob.update_pull_request_approval_state(pullRequestId=pid, revisionId=rev1, approvalState="APPROVE")
approvals = cc.get_pull_request_approval_states(pullRequestId=pid, revisionId=rev1)["approvals"]
check(len(approvals) == 1 and approvals[0]["userArn"].endswith(":user/bob") and approvals[0]["approvalState"] == "APPROVE", f"approval {approvals}")

work = tempfile.mkdtemp()
git("clone", "-q", "-b", "feature", f"{URL}/v1/repos/prs", "w", cwd=work)
w = os.path.join(work, "w")
with open(os.path.join(w, "feature.txt"), "a") as fh:
    fh.write("more\n")
git("commit", "-q", "-am", "more feature", cwd=w)
git("push", "-q", "origin", "feature", cwd=w)
pr = cc.get_pull_request(pullRequestId=pid)["pullRequest"]
rev2 = pr["revisionId"]
check(rev2 != rev1 and pr["pullRequestTargets"][0]["sourceCommit"] == tip("feature"), "a push makes a new revision")
check(cc.get_pull_request_approval_states(pullRequestId=pid, revisionId=rev2)["approvals"] == [], "approvals of the old revision stop counting")
expect_error("RevisionNotCurrentException", bob.update_pull_request_approval_state, pullRequestId=pid, revisionId=rev1, approvalState="APPROVE")
events = cc.describe_pull_request_events(pullRequestId=pid)["pullRequestEvents"]
kinds = [e["pullRequestEventType"] for e in events]
check(kinds == ["PULL_REQUEST_CREATED", "PULL_REQUEST_APPROVAL_STATE_CHANGED", "PULL_REQUEST_SOURCE_REFERENCE_UPDATED"], f"events {kinds}")
upd = events[2]["pullRequestSourceReferenceUpdatedEventMetadata"]
check(upd["afterCommitId"] == tip("feature") and upd["beforeCommitId"] == t["sourceCommit"], "source update metadata")
only = cc.describe_pull_request_events(pullRequestId=pid, pullRequestEventType="PULL_REQUEST_CREATED")["pullRequestEvents"]
check(len(only) == 1 and only[0]["pullRequestCreatedEventMetadata"]["repositoryName"] == "prs", "event filter")

cc.update_pull_request_title(pullRequestId=pid, title="Add the feature")
cc.update_pull_request_description(pullRequestId=pid, description="second")
pr = cc.get_pull_request(pullRequestId=pid)["pullRequest"]
check(pr["title"] == "Add the feature" and pr["description"] == "second", "title and description")

# --- merge by three-way ------------------------------------------------------------------
put("main", "main-only.txt", b"main\n")
expect_error("TipOfSourceReferenceIsDifferentException", cc.merge_pull_request_by_three_way, pullRequestId=pid, repositoryName="prs",
             sourceCommitId=t["sourceCommit"])
expect_error("ManualMergeRequiredException", cc.merge_pull_request_by_fast_forward, pullRequestId=pid, repositoryName="prs")
merged = cc.merge_pull_request_by_three_way(pullRequestId=pid, repositoryName="prs", sourceCommitId=tip("feature"))["pullRequest"]
mm = merged["pullRequestTargets"][0]["mergeMetadata"]
check(merged["pullRequestStatus"] == "CLOSED" and mm["isMerged"] and mm["mergeOption"] == "THREE_WAY_MERGE", f"merged {merged}")
check(mm["mergeCommitId"] == tip("main") and mm["mergedBy"].endswith(":root"), "merge commit is the new main tip")
check(len(cc.get_commit(repositoryName="prs", commitId=mm["mergeCommitId"])["commit"]["parents"]) == 2, "three-way merge commit")
expect_error("PullRequestAlreadyClosedException", cc.merge_pull_request_by_squash, pullRequestId=pid, repositoryName="prs")
expect_error("InvalidPullRequestStatusUpdateException", cc.update_pull_request_status, pullRequestId=pid, pullRequestStatus="OPEN")

# --- fast-forward ------------------------------------------------------------------------
cc.merge_branches_by_fast_forward(repositoryName="prs", sourceCommitSpecifier="main", destinationCommitSpecifier="ff")
put("ff", "ff.txt", b"ff\n")
ffpr = cc.create_pull_request(title="FF", targets=[{"repositoryName": "prs", "sourceReference": "ff"}])["pullRequest"]
check(ffpr["pullRequestTargets"][0]["destinationReference"] == "refs/heads/main", "destination defaults to the default branch")
ff_done = cc.merge_pull_request_by_fast_forward(pullRequestId=ffpr["pullRequestId"], repositoryName="prs")["pullRequest"]
check(ff_done["pullRequestTargets"][0]["mergeMetadata"]["mergeCommitId"] == tip("ff") == tip("main"), "fast-forward merge")

# --- squash with a conflict ----------------------------------------------------------------
put("squashy", "app.txt", b"v2 from squashy\n")
put("main", "app.txt", b"v2 from main\n")
sq = cc.create_pull_request(title="Squash", targets=[{"repositoryName": "prs", "sourceReference": "squashy"}])["pullRequest"]
conflicts = cc.get_merge_conflicts(repositoryName="prs", sourceCommitSpecifier="squashy", destinationCommitSpecifier="main",
                                   mergeOption="SQUASH_MERGE")
check(not conflicts["mergeable"] and conflicts["conflictMetadataList"][0]["filePath"] == "app.txt", "conflict detected")
desc = cc.describe_merge_conflicts(repositoryName="prs", sourceCommitSpecifier="squashy", destinationCommitSpecifier="main",
                                   mergeOption="SQUASH_MERGE", filePath="app.txt")
meta, hunk = desc["conflictMetadata"], desc["mergeHunks"][0]
check(meta["numberOfConflicts"] == 1 and meta["contentConflict"] and meta["mergeOperations"] == {"source": "M", "destination": "M"}, f"metadata {meta}")
check(hunk["isConflict"] and hunk["source"]["hunkContent"] == "v2 from squashy\n" and hunk["destination"]["hunkContent"] == "v2 from main\n"
      and hunk["base"]["hunkContent"] == "v1\n" and hunk["source"]["startLine"] == 1, f"hunk {hunk}")
batch = cc.batch_describe_merge_conflicts(repositoryName="prs", sourceCommitSpecifier="squashy", destinationCommitSpecifier="main",
                                          mergeOption="SQUASH_MERGE", filePaths=["app.txt", "feature.txt"])
check([c["conflictMetadata"]["filePath"] for c in batch["conflicts"]] == ["app.txt"] and batch["errors"][0]["filePath"] == "feature.txt",
      f"batch describe {batch}")
expect_error("ManualMergeRequiredException", cc.merge_pull_request_by_squash, pullRequestId=sq["pullRequestId"], repositoryName="prs")
check(cc.get_pull_request(pullRequestId=sq["pullRequestId"])["pullRequest"]["pullRequestStatus"] == "OPEN", "a failed merge leaves it open")
sq_done = cc.merge_pull_request_by_squash(pullRequestId=sq["pullRequestId"], repositoryName="prs", conflictResolutionStrategy="ACCEPT_SOURCE",
                                          commitMessage="squashed")["pullRequest"]
commit = cc.get_commit(repositoryName="prs", commitId=sq_done["pullRequestTargets"][0]["mergeMetadata"]["mergeCommitId"])["commit"]
check(len(commit["parents"]) == 1 and commit["message"] == "squashed", "squash commit")
check(cc.get_file(repositoryName="prs", filePath="app.txt")["fileContent"] == b"v2 from squashy\n", "resolved to the source")

# --- close without merging; listings -------------------------------------------------------
put("abandoned", "x.txt", b"x\n")
ab = cc.create_pull_request(title="Abandon", targets=[{"repositoryName": "prs", "sourceReference": "abandoned"}])["pullRequest"]
closed = cc.update_pull_request_status(pullRequestId=ab["pullRequestId"], pullRequestStatus="CLOSED")["pullRequest"]
check(closed["pullRequestStatus"] == "CLOSED" and not closed["pullRequestTargets"][0]["mergeMetadata"]["isMerged"], "closed unmerged")
reopened = cc.update_pull_request_status(pullRequestId=ab["pullRequestId"], pullRequestStatus="OPEN")["pullRequest"]
check(reopened["pullRequestStatus"] == "OPEN", "an unmerged pull request reopens")
status_events = cc.describe_pull_request_events(pullRequestId=ab["pullRequestId"], pullRequestEventType="PULL_REQUEST_STATUS_CHANGED")
check([e["pullRequestStatusChangedEventMetadata"]["pullRequestStatus"] for e in status_events["pullRequestEvents"]] == ["CLOSED", "OPEN"], "status events")
all_ids = [i for p in cc.get_paginator("list_pull_requests").paginate(repositoryName="prs", PaginationConfig={"PageSize": 2}) for i in p["pullRequestIds"]]
check(all_ids == [ab["pullRequestId"], sq["pullRequestId"], ffpr["pullRequestId"], pid], f"newest first, paginated {all_ids}")
open_ids = cc.list_pull_requests(repositoryName="prs", pullRequestStatus="OPEN")["pullRequestIds"]
check(open_ids == [ab["pullRequestId"]], "status filter")
me = cc.get_pull_request(pullRequestId=pid)["pullRequest"]["authorArn"]
check(len(cc.list_pull_requests(repositoryName="prs", authorArn=me)["pullRequestIds"]) == 4, "author filter")

bob_sts = boto3.client("sts", endpoint_url=URL, config=cfg, aws_access_key_id=os.environ["BOB_AKID"],
                       aws_secret_access_key=os.environ["BOB_SECRET"]).get_caller_identity()
check(bob_sts["Arn"].endswith(":user/bob") and bob_sts["UserId"].startswith("AIDA"), f"bob's identity {bob_sts}")
bob_arn_guess = cc.get_pull_request(pullRequestId=pid)["pullRequest"]["authorArn"].replace(":root", ":user/bob")

# --- comments ----------------------------------------------------------------------------
abt = cc.get_pull_request(pullRequestId=ab["pullRequestId"])["pullRequest"]["pullRequestTargets"][0]
loc = {"filePath": "x.txt", "filePosition": 1, "relativeFileVersion": "AFTER"}
c1 = cc.post_comment_for_pull_request(pullRequestId=ab["pullRequestId"], repositoryName="prs", beforeCommitId=abt["destinationCommit"],
                                      afterCommitId=abt["sourceCommit"], location=loc, content="Why x?", clientRequestToken="c-1")
check(c1["afterBlobId"] and c1["location"]["filePath"] == "x.txt" and c1["comment"]["authorArn"].endswith(":root"), f"located comment {c1}")
again = cc.post_comment_for_pull_request(pullRequestId=ab["pullRequestId"], repositoryName="prs", beforeCommitId=abt["destinationCommit"],
                                         afterCommitId=abt["sourceCommit"], location=loc, content="Why x?", clientRequestToken="c-1")
check(again["comment"]["commentId"] == c1["comment"]["commentId"], "comment posting is idempotent")
general = cc.post_comment_for_pull_request(pullRequestId=ab["pullRequestId"], repositoryName="prs", beforeCommitId=abt["destinationCommit"],
                                           afterCommitId=abt["sourceCommit"], content="Looks fine overall")
reply = bob.post_comment_reply(inReplyTo=c1["comment"]["commentId"], content="Because.")["comment"]
check(reply["inReplyTo"] == c1["comment"]["commentId"] and reply["authorArn"].endswith(":user/bob"), "reply")
threads = cc.get_comments_for_pull_request(pullRequestId=ab["pullRequestId"])["commentsForPullRequestData"]
check(len(threads) == 2 and [c["content"] for c in threads[0]["comments"]] == ["Why x?", "Because."], f"threads {threads}")
check(threads[0]["location"]["filePath"] == "x.txt" and "location" not in threads[1], "thread locations")
expect_error("CommentNotCreatedByCallerException", bob.update_comment, commentId=c1["comment"]["commentId"], content="edited")
check(cc.update_comment(commentId=c1["comment"]["commentId"], content="Why x.txt?")["comment"]["content"] == "Why x.txt?", "edit")
gone = cc.delete_comment_content(commentId=general["comment"]["commentId"])["comment"]
check(gone["deleted"] and gone["content"] == "", "content deleted")
expect_error("CommentDeletedException", cc.get_comment, commentId=general["comment"]["commentId"])
expect_error("CommentDoesNotExistException", cc.get_comment, commentId="nope")
expect_error("CommentContentRequiredException", cc.post_comment_reply, inReplyTo=reply["commentId"], content="")
expect_error("PathDoesNotExistException", cc.post_comment_for_pull_request, pullRequestId=ab["pullRequestId"], repositoryName="prs",
             beforeCommitId=abt["destinationCommit"], afterCommitId=abt["sourceCommit"], location={"filePath": "missing.txt"}, content="?")
expect_error("CommitDoesNotExistException", cc.post_comment_for_compared_commit, repositoryName="prs", afterCommitId="4" * 40, content="?")
cc.post_comment_for_compared_commit(repositoryName="prs", beforeCommitId=abt["destinationCommit"], afterCommitId=abt["sourceCommit"], content="on commits")
compared = cc.get_comments_for_compared_commit(repositoryName="prs", beforeCommitId=abt["destinationCommit"], afterCommitId=abt["sourceCommit"])
check([c["content"] for g in compared["commentsForComparedCommitData"] for c in g["comments"]] == ["on commits"], "compared-commit comments are their own")
cid = c1["comment"]["commentId"]
cc.put_comment_reaction(commentId=cid, reactionValue=":thumbsup:")
bob.put_comment_reaction(commentId=cid, reactionValue="\U0001F680")
bob.put_comment_reaction(commentId=cid, reactionValue=":thumbsup:")
reactions = cc.get_comment_reactions(commentId=cid)["reactionsForComment"]
check([(r["reaction"]["shortCode"], len(r["reactionUsers"])) for r in reactions] == [(":thumbsup:", 2)], f"one reaction per user {reactions}")
check(reactions[0]["reaction"]["unicode"] == "U+1F44D", "reaction formats")
mine = cc.get_comment(commentId=cid)["comment"]
check(mine["callerReactions"] == [":thumbsup:"] and mine["reactionCounts"] == {":thumbsup:": 2}, f"counts {mine}")
bob.put_comment_reaction(commentId=cid, reactionValue="none")
check(cc.get_comment_reactions(commentId=cid, reactionUserArn=bob_arn_guess)["reactionsForComment"] == [], "reaction removed")
expect_error("InvalidReactionValueException", cc.put_comment_reaction, commentId=cid, reactionValue=":shrug:")

# --- approval rules and templates ---------------------------------------------------------
import json
bob_arn = closed["authorArn"].split(":root")[0] + ":user/bob"
tpl_content = json.dumps({"Version": "2018-11-08", "DestinationReferences": ["refs/heads/main"],
                          "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 1, "ApprovalPoolMembers": ["arn:aws:iam::*:user/bob"]}]})
tpl = cc.create_approval_rule_template(approvalRuleTemplateName="needs-bob", approvalRuleTemplateContent=tpl_content,
                                       approvalRuleTemplateDescription="bob reviews main")["approvalRuleTemplate"]
check(tpl["approvalRuleTemplateName"] == "needs-bob" and len(tpl["ruleContentSha256"]) == 64, "template created")
expect_error("ApprovalRuleTemplateNameAlreadyExistsException", cc.create_approval_rule_template, approvalRuleTemplateName="needs-bob",
             approvalRuleTemplateContent=tpl_content)
expect_error("InvalidApprovalRuleTemplateContentException", cc.create_approval_rule_template, approvalRuleTemplateName="bad",
             approvalRuleTemplateContent='{"Version": "1"}')
batch = cc.batch_associate_approval_rule_template_with_repositories(approvalRuleTemplateName="needs-bob", repositoryNames=["prs", "absent"])
check(batch["associatedRepositoryNames"] == ["prs"] and batch["errors"][0]["errorCode"] == "RepositoryDoesNotExistException", f"batch associate {batch}")
check(cc.list_associated_approval_rule_templates_for_repository(repositoryName="prs")["approvalRuleTemplateNames"] == ["needs-bob"], "associated")
check(cc.list_repositories_for_approval_rule_template(approvalRuleTemplateName="needs-bob")["repositoryNames"] == ["prs"], "repositories of a template")

cc.create_branch(repositoryName="prs", branchName="ruled", commitId=tip("main"))
put("ruled", "ruled.txt", b"needs review\n")
rp = cc.create_pull_request(title="Ruled", targets=[{"repositoryName": "prs", "sourceReference": "ruled"}])["pullRequest"]
rid, rrev = rp["pullRequestId"], rp["revisionId"]
rules = rp["approvalRules"]
check(len(rules) == 1 and rules[0]["approvalRuleName"] == "needs-bob" and rules[0]["originApprovalRuleTemplate"]["approvalRuleTemplateName"] == "needs-bob",
      f"template rule applied {rules}")
ev = cc.evaluate_pull_request_approval_rules(pullRequestId=rid, revisionId=rrev)["evaluation"]
check(ev["approved"] is False and ev["approvalRulesNotSatisfied"] == ["needs-bob"], f"not approved yet {ev}")
expect_error("PullRequestApprovalRulesNotSatisfiedException", cc.merge_pull_request_by_fast_forward, pullRequestId=rid, repositoryName="prs")
anyone_two = json.dumps({"Version": "2018-11-08", "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": 2}]})
rule = cc.create_pull_request_approval_rule(pullRequestId=rid, approvalRuleName="two", approvalRuleContent=anyone_two)["approvalRule"]
expect_error("ApprovalRuleNameAlreadyExistsException", cc.create_pull_request_approval_rule, pullRequestId=rid, approvalRuleName="two",
             approvalRuleContent=anyone_two)
expect_error("InvalidApprovalRuleContentException", cc.create_pull_request_approval_rule, pullRequestId=rid, approvalRuleName="bad",
             approvalRuleContent=tpl_content)
bob.update_pull_request_approval_state(pullRequestId=rid, revisionId=rrev, approvalState="APPROVE")
ev = cc.evaluate_pull_request_approval_rules(pullRequestId=rid, revisionId=rrev)["evaluation"]
check(ev["approvalRulesSatisfied"] == ["needs-bob"] and ev["approvalRulesNotSatisfied"] == ["two"] and not ev["approved"], f"one of two {ev}")
expect_error("InvalidRuleContentSha256Exception", cc.update_pull_request_approval_rule_content, pullRequestId=rid, approvalRuleName="two",
             existingRuleContentSha256="0" * 64, newRuleContent=anyone_two)
cc.update_pull_request_approval_rule_content(pullRequestId=rid, approvalRuleName="two", existingRuleContentSha256=rule["ruleContentSha256"],
                                             newRuleContent=anyone_two.replace('"NumberOfApprovalsNeeded": 2', '"NumberOfApprovalsNeeded": 1'))
check(cc.evaluate_pull_request_approval_rules(pullRequestId=rid, revisionId=rrev)["evaluation"]["approved"], "approved after the rule change")
expect_error("CannotDeleteApprovalRuleFromTemplateException", cc.delete_pull_request_approval_rule, pullRequestId=rid, approvalRuleName="needs-bob")
check(cc.delete_pull_request_approval_rule(pullRequestId=rid, approvalRuleName="two")["approvalRuleId"] == rule["approvalRuleId"], "rule deleted")
cc.override_pull_request_approval_rules(pullRequestId=rid, revisionId=rrev, overrideStatus="OVERRIDE")
state = cc.get_pull_request_override_state(pullRequestId=rid, revisionId=rrev)
check(state["overridden"] and state["overrider"].endswith(":root"), "override state")
expect_error("OverrideAlreadySetException", cc.override_pull_request_approval_rules, pullRequestId=rid, revisionId=rrev, overrideStatus="OVERRIDE")
cc.override_pull_request_approval_rules(pullRequestId=rid, revisionId=rrev, overrideStatus="REVOKE")
check(not cc.get_pull_request_override_state(pullRequestId=rid, revisionId=rrev)["overridden"], "override revoked")
ruled_done = cc.merge_pull_request_by_fast_forward(pullRequestId=rid, repositoryName="prs")["pullRequest"]
check(ruled_done["pullRequestStatus"] == "CLOSED", "merged once the rules are satisfied")
kinds = [e["pullRequestEventType"] for e in cc.describe_pull_request_events(pullRequestId=rid)["pullRequestEvents"]]
for k in ["PULL_REQUEST_APPROVAL_RULE_CREATED", "PULL_REQUEST_APPROVAL_RULE_UPDATED", "PULL_REQUEST_APPROVAL_RULE_DELETED",
          "PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN", "PULL_REQUEST_MERGE_STATE_CHANGED"]:
    check(k in kinds, f"event {k} in {kinds}")

renamed = cc.update_approval_rule_template_name(oldApprovalRuleTemplateName="needs-bob", newApprovalRuleTemplateName="bob-reviews")["approvalRuleTemplate"]
check(renamed["approvalRuleTemplateId"] == tpl["approvalRuleTemplateId"], "template renamed")
cc.update_approval_rule_template_description(approvalRuleTemplateName="bob-reviews", approvalRuleTemplateDescription="new")
cc.update_approval_rule_template_content(approvalRuleTemplateName="bob-reviews", newRuleContent=tpl_content.replace("bob", "b*"),
                                         existingRuleContentSha256=tpl["ruleContentSha256"])
got = cc.get_approval_rule_template(approvalRuleTemplateName="bob-reviews")["approvalRuleTemplate"]
check(got["approvalRuleTemplateDescription"] == "new" and "b*" in got["approvalRuleTemplateContent"], "template updated")
check(cc.list_approval_rule_templates()["approvalRuleTemplateNames"] == ["bob-reviews"], "templates listed")
cc.disassociate_approval_rule_template_from_repository(approvalRuleTemplateName="bob-reviews", repositoryName="prs")
check(cc.list_associated_approval_rule_templates_for_repository(repositoryName="prs")["approvalRuleTemplateNames"] == [], "disassociated")
check(cc.delete_approval_rule_template(approvalRuleTemplateName="bob-reviews")["approvalRuleTemplateId"] == tpl["approvalRuleTemplateId"], "deleted")
expect_error("ApprovalRuleTemplateDoesNotExistException", cc.get_approval_rule_template, approvalRuleTemplateName="bob-reviews")

# --- manual conflict resolution --------------------------------------------------------------
cc.create_branch(repositoryName="prs", branchName="manual", commitId=tip("main"))
put("manual", "app.txt", b"v3 from manual\n")
put("main", "app.txt", b"v3 from main\n")
mp = cc.create_pull_request(title="Manual", targets=[{"repositoryName": "prs", "sourceReference": "manual"}])["pullRequest"]
keep = cc.create_unreferenced_merge_commit(repositoryName="prs", sourceCommitSpecifier="manual", destinationCommitSpecifier="main",
                                           mergeOption="THREE_WAY_MERGE",
                                           conflictResolution={"replaceContents": [{"filePath": "app.txt", "replacementType": "KEEP_DESTINATION"}]})
check(cc.get_file(repositoryName="prs", filePath="app.txt", commitSpecifier=keep["commitId"])["fileContent"] == b"v3 from main\n", "KEEP_DESTINATION")
expect_error("ReplacementContentRequiredException", cc.merge_pull_request_by_three_way, pullRequestId=mp["pullRequestId"], repositoryName="prs",
             conflictResolution={"replaceContents": [{"filePath": "app.txt", "replacementType": "USE_NEW_CONTENT"}]})
manual = cc.merge_pull_request_by_three_way(
    pullRequestId=mp["pullRequestId"], repositoryName="prs",
    conflictResolution={"replaceContents": [{"filePath": "app.txt", "replacementType": "USE_NEW_CONTENT", "content": b"resolved by hand\n"}]},
)["pullRequest"]
check(manual["pullRequestStatus"] == "CLOSED" and cc.get_file(repositoryName="prs", filePath="app.txt")["fileContent"] == b"resolved by hand\n",
      "manual resolution merged")

# --- git sees what the API reports -------------------------------------------------------
git("fetch", "-q", "origin", cwd=w)
log = git("log", "--format=%H", "origin/main", cwd=w).split()
for p in [merged, ff_done, sq_done, ruled_done, manual]:
    check(p["pullRequestTargets"][0]["mergeMetadata"]["mergeCommitId"] in log, "merge commits are on main for git")
check(log[0] == tip("main"), "git's main is the API's main")

done()
