window.YTD.tweets.part0 = [
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1790000000000000101"
          ],
          "editableUntil" : "2024-06-01T10:00:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [
          {
            "text" : "localbusiness",
            "indices" : [
              "0",
              "1"
            ]
          },
          {
            "text" : "Boston",
            "indices" : [
              "0",
              "1"
            ]
          }
        ],
        "symbols" : [],
        "user_mentions" : [],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "77"
      ],
      "favorite_count" : "150",
      "id_str" : "1790000000000000101",
      "truncated" : false,
      "retweet_count" : "21",
      "id" : "1790000000000000101",
      "created_at" : "Sat Jun 01 13:00:00 +0000 2024",
      "favorited" : false,
      "full_text" : "Summer hours: we are open Saturdays in June &amp; July #localbusiness #Boston",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1790000000000000105"
          ],
          "editableUntil" : "2024-06-01T10:00:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "29"
      ],
      "favorite_count" : "9",
      "id_str" : "1790000000000000105",
      "truncated" : false,
      "retweet_count" : "1",
      "id" : "1790000000000000105",
      "created_at" : "Sat Jun 01 13:02:00 +0000 2024",
      "favorited" : false,
      "full_text" : "2/ And yes, walk-ins welcome.",
      "lang" : "en",
      "in_reply_to_status_id_str" : "1790000000000000101",
      "in_reply_to_status_id" : "1790000000000000101",
      "in_reply_to_user_id" : "1500000000000000001",
      "in_reply_to_screen_name" : "harborpine",
      "in_reply_to_user_id_str" : "1500000000000000001"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1790000000000000102"
          ],
          "editableUntil" : "2024-06-01T10:00:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [
          {
            "name" : "Brightleaf Dental",
            "screen_name" : "brightleafdental",
            "indices" : [
              "0",
              "17"
            ],
            "id_str" : "1200000000000733103",
            "id" : "1200000000000733103"
          }
        ],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "43"
      ],
      "favorite_count" : "4",
      "id_str" : "1790000000000000102",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1790000000000000102",
      "created_at" : "Tue Jun 11 02:30:00 +0000 2024",
      "favorited" : false,
      "full_text" : "@brightleafdental thanks for the shout-out!",
      "lang" : "en",
      "in_reply_to_status_id_str" : "1790000000000000777",
      "in_reply_to_status_id" : "1790000000000000777",
      "in_reply_to_user_id" : "1200000000000733103",
      "in_reply_to_screen_name" : "brightleafdental",
      "in_reply_to_user_id_str" : "1200000000000733103"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1790000000000000106"
          ],
          "editableUntil" : "2024-06-01T10:00:00.000Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : [
          {
            "name" : "Ben Okafor",
            "screen_name" : "okaforplumbing",
            "indices" : [
              "0",
              "15"
            ],
            "id_str" : "1200000000000104729",
            "id" : "1200000000000104729"
          }
        ],
        "urls" : []
      },
      "display_text_range" : [
        "0",
        "54"
      ],
      "favorite_count" : "0",
      "id_str" : "1790000000000000106",
      "truncated" : false,
      "retweet_count" : "3",
      "id" : "1790000000000000106",
      "created_at" : "Wed Jun 12 18:00:00 +0000 2024",
      "favorited" : false,
      "full_text" : "RT @okaforplumbing: Booked solid thanks to @harborpine",
      "lang" : "en"
    }
  }
]